package testcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/media"
)

// Session instances for tests whose edges run the process runtime: the
// app's command re-runs the test binary itself, which (from TestMain,
// through RunInstance) publishes the looped test clip into its session
// as `strata testsrc` would. No binary has to be built first.
//
//	func TestMain(m *testing.M) {
//		if code, ok := testcluster.RunInstance(); ok {
//			os.Exit(code)
//		}
//		os.Exit(m.Run())
//	}

// instanceEnv marks a process started as a session instance.
const instanceEnv = "STRATA_TESTCLUSTER_INSTANCE"

// instanceTenantEnv names the tenant whose namespace the instance
// publishes in (the session runtime gives only the session id).
const instanceTenantEnv = "STRATA_TESTCLUSTER_TENANT"

// InstanceApp returns the command and environment of an app of tenant
// whose instances publish the test clip: this test binary, run with no
// tests.
func InstanceApp(tenant string) (command []string, env map[string]string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("testcluster: own executable: %w", err)
	}
	return []string{exe, "-test.run=^$"}, map[string]string{instanceEnv: "testsrc", instanceTenantEnv: tenant}, nil
}

// RunInstance reports whether this process is a session instance (ok)
// and, if so, publishes until SIGTERM and returns the exit code.
func RunInstance() (code int, ok bool) {
	if os.Getenv(instanceEnv) == "" {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := publishInstance(ctx, os.Getenv, log); err != nil && ctx.Err() == nil {
		log.Error("instance", "err", err)
		return 1, true
	}
	return 0, true
}

// publishInstance publishes the clip to the session's edge, read from the
// session environment the runtime sets.
func publishInstance(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	u, err := url.Parse(getenv("STRATA_PUBLISH_URL"))
	if err != nil || u.Host == "" {
		return fmt.Errorf("STRATA_PUBLISH_URL %q: want https://host:port/moq", getenv("STRATA_PUBLISH_URL"))
	}
	tok := getenv("STRATA_PUBLISH_TOKEN")
	ns := media.Namespace{Tenant: getenv(instanceTenantEnv), Session: getenv("STRATA_SESSION_ID")}
	clip, err := testsrc.LoadClip()
	if err != nil {
		return err
	}
	src, err := testsrc.NewSource(clip, testsrc.SourceOptions{})
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(u.Host)
	pub, err := testsrc.Dial(ctx, src, testsrc.PublishConfig{
		Addr: u.Host, TLS: &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // loopback test edges
		Token: []byte(tok), Namespace: ns, Logger: log,
	})
	if err != nil {
		return err
	}
	return testsrc.Run(ctx, src, pub.Serve)
}
