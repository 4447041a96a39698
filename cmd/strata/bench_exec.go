package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/strata-edge/strata/internal/sibling"
)

func init() {
	commands["bench"] = command{"benchmarks (registry, placement, gossip, fanout, sessions, player, capacity, load, autoscale; calibrate, compare), run by strata-bench", runBench}
}

// benchBinary holds the benches. They run a whole cluster in one process
// and drive a browser, so they live in a binary of their own and this
// one carries no test harness.
const benchBinary = "strata-bench"

// strataBinEnv tells strata-bench which strata ran it, so the session
// instances of its sessions bench run this same build.
const strataBinEnv = "STRATA_BIN"

// runBench runs strata-bench with the same arguments, as git runs its
// external commands: found beside this executable or on PATH, with our
// standard streams, and its exit status passed through.
func runBench(args []string) error {
	path, err := sibling.Find(benchBinary)
	if err != nil {
		return fmt.Errorf("%w\nThe benches are a separate binary: 'make build' builds bin/strata and bin/strata-bench (or: go build -o bin/strata-bench ./cmd/strata-bench)", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	if self, err := os.Executable(); err == nil {
		cmd.Env = append(cmd.Env, strataBinEnv+"="+self)
	}
	// A terminal's Ctrl-C reaches both processes; a signal sent to this
	// one alone is handed on. Either way we wait for the bench to finish
	// and report.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return exitStatus(ee.ExitCode())
	}
	return fmt.Errorf("%s: %w", path, err)
}
