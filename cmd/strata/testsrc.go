package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/media"
)

func init() {
	commands["testsrc"] = command{"publish a looped test clip into a session (latency probe)", runTestsrc}
}

// testsrcProgressEvery is how often testsrc logs its frame count.
const testsrcProgressEvery = 5 * time.Second

// testsrcOptions are the resolved settings of `strata testsrc`.
type testsrcOptions struct {
	addr      string // host:port of the edge's MoQ UDP port
	token     string
	namespace media.Namespace
	insecure  bool
	duration  time.Duration
	inputURL  string
	logLevel  string
}

// parseTestsrcArgs resolves flags over the session runtime's environment.
func parseTestsrcArgs(args []string, getenv func(string) string) (testsrcOptions, error) {
	fs := flag.NewFlagSet("testsrc", flag.ContinueOnError)
	rawURL := fs.String("url", getenv("STRATA_PUBLISH_URL"), "edge MoQ `url` (https://host:port/moq or host:port); $STRATA_PUBLISH_URL")
	tok := fs.String("token", getenv("STRATA_PUBLISH_TOKEN"), "publisher `token`; $STRATA_PUBLISH_TOKEN")
	session := fs.String("session", getenv("STRATA_SESSION_ID"), "session `id`; $STRATA_SESSION_ID, else the token's sid")
	tenant := fs.String("tenant", "", "tenant `id`; default the token's tid")
	insecure := fs.Bool("insecure", false, "skip TLS certificate verification (default true for a loopback edge)")
	duration := fs.Duration("duration", 0, "stop after this long; 0 runs until interrupted")
	whip := fs.Bool("whip", false, "publish over WHIP instead of MoQ (not implemented yet)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata testsrc [flags]\n\nPublishes a looped H.264 + Opus test clip into a session over MoQ, stamping\neach frame with its capture time so glass-to-glass latency can be measured.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return testsrcOptions{}, err
		}
		return testsrcOptions{}, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return testsrcOptions{}, usagef("unexpected arguments %q", fs.Args())
	}
	if *whip {
		return testsrcOptions{}, usagef("--whip: publishing over WHIP is not implemented yet; use MoQ (the default)")
	}
	o := testsrcOptions{token: *tok, duration: *duration, inputURL: getenv("STRATA_INPUT_URL"), logLevel: *logLevel}
	if o.duration < 0 {
		return o, usagef("--duration must not be negative")
	}
	if *rawURL == "" {
		return o, usagef("--url (or $STRATA_PUBLISH_URL) is required")
	}
	host, addr, err := moqAddr(*rawURL)
	if err != nil {
		return o, usagef("--url: %v", err)
	}
	o.addr = addr
	o.namespace = media.Namespace{Tenant: *tenant, Session: *session}
	if o.namespace.Tenant == "" || o.namespace.Session == "" {
		tid, sid, err := tokenScope(o.token)
		if err != nil && o.namespace.Tenant == "" {
			return o, usagef("--tenant not given and %v", err)
		}
		if o.namespace.Tenant == "" {
			o.namespace.Tenant = tid
		}
		if o.namespace.Session == "" {
			o.namespace.Session = sid
		}
	}
	if err := o.namespace.Validate(); err != nil {
		return o, usagef("--tenant/--session: %v", err)
	}
	o.insecure = isLoopback(host)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "insecure" {
			o.insecure = *insecure
		}
	})
	return o, nil
}

// moqAddr turns a moq_url (https://host:port/moq) or a bare host:port into
// the host and the host:port raw QUIC dials.
func moqAddr(raw string) (host, addr string, err error) {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", fmt.Errorf("parse: %w", err)
		}
		if u.Scheme != "https" && u.Scheme != "moqt" && u.Scheme != "quic" {
			return "", "", fmt.Errorf("scheme %q: want https://host:port/moq or host:port", u.Scheme)
		}
		raw = u.Host
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", raw, err)
	}
	if host == "" || port == "" {
		return "", "", fmt.Errorf("%q: want host:port", raw)
	}
	return host, raw, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tokenScope reads the tenant and session claims of a JWS without
// verifying it: the edge verifies; testsrc only needs its namespace.
func tokenScope(tok string) (tenant, session string, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", "", errors.New("no publisher token to read the tenant from")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("token payload: %w", err)
	}
	var c struct {
		Tenant  string `json:"tid"`
		Session string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", "", fmt.Errorf("token payload: %w", err)
	}
	if c.Tenant == "" {
		return "", "", errors.New("the token has no tenant claim")
	}
	return c.Tenant, c.Session, nil
}

func runTestsrc(args []string) error {
	o, err := parseTestsrcArgs(args, os.Getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, "text", o.logLevel)
	if err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	return publishTestsrc(ctx, o, log)
}

// publishTestsrc runs the source and the publisher until ctx ends.
func publishTestsrc(ctx context.Context, o testsrcOptions, log *slog.Logger) error {
	clip, err := testsrc.LoadClip()
	if err != nil {
		return fmt.Errorf("load clip: %w", err)
	}
	src, err := testsrc.NewSource(clip, testsrc.SourceOptions{})
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(o.addr)
	tlsConf := &tls.Config{ServerName: host, InsecureSkipVerify: o.insecure} //nolint:gosec // opt-in for dev certificates
	pub, err := testsrc.Dial(ctx, src, testsrc.PublishConfig{Addr: o.addr, TLS: tlsConf,
		Token: []byte(o.token), Namespace: o.namespace, Logger: log})
	if err != nil {
		return err
	}
	log.Info("publishing", "namespace", o.namespace.String(), "edge", o.addr, "codec", clip.Codec,
		"video_frames", len(clip.Video), "audio_packets", len(clip.Audio), "insecure", o.insecure)
	if o.inputURL != "" {
		// Input travels on the session's own broadcast at its ingest edge,
		// so the publish connection reads it; the URL names that endpoint.
		log.Info("reading viewer input over the publish connection", "input_url", o.inputURL)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr, serveErr error
	wg.Go(func() {
		defer cancel()
		runErr = src.Run(runCtx)
	})
	wg.Go(func() {
		defer cancel()
		serveErr = pub.Serve(runCtx)
	})
	wg.Go(func() {
		t := time.NewTicker(testsrcProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				log.Info(fmt.Sprintf("published %d frames", src.VideoFrames()+src.AudioFrames()),
					"video", src.VideoFrames(), "audio", src.AudioFrames(),
					"subscriptions", pub.Subscriptions(), "input_events", pub.Input().Events)
			}
		}
	})
	wg.Wait()
	log.Info(fmt.Sprintf("published %d frames", src.VideoFrames()+src.AudioFrames()), "done", true)
	if err := errors.Join(runErr, serveErr); err != nil {
		return err
	}
	return nil
}
