package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/strata-edge/strata/bench"
)

// agentTokenEnv holds the token between controller and agents, kept off
// argv.
const agentTokenEnv = "STRATA_BENCH_AGENT_TOKEN"

func init() { benchTools["agent"] = benchAgent }

// benchAgent is `strata-bench agent`: a load generator that `strata-bench
// load --agents` drives, loading the cluster named by its own flags.
func benchAgent(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("bench agent", flag.ContinueOnError)
	var o bench.LoadOptions
	cluster := clusterFlags(fs, &o)
	listen := fs.String("listen", "127.0.0.1:7090", "address controllers reach this agent on")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if err := cluster(true); err != nil {
		return err
	}
	token := os.Getenv(agentTokenEnv)
	if token == "" {
		return usagef("$%s must hold the token controllers present", agentTokenEnv)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: &bench.Agent{Load: o, Token: token}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(w, "agent listening on http://%s%s\n", ln.Addr(), bench.AgentPath)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
