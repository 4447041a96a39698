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
	whipURL   string // set: publish over WHIP to this endpoint instead of MoQ
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
	whip := fs.Bool("whip", false, "publish over WHIP (RFC 9725) to --whip-url instead of MoQ; input events are then not read")
	whipURL := fs.String("whip-url", getenv("STRATA_WHIP_URL"), "edge WHIP endpoint `url` (https://host:port/whip/{tenant}/{session}); $STRATA_WHIP_URL")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata testsrc [flags]\n\nPublishes a looped H.264 + Opus test clip into a session over MoQ, stamping\neach frame with its capture time so glass-to-glass latency can be measured.\n\nWith --whip it publishes over WHIP instead (capture times in the RTP\nabs-capture-time extension). Input events travel on the session's MoQ\nbroadcast and are read and counted only over MoQ: a WHIP publisher does\nnot receive them.\n\nFlags:\n")
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
	o := testsrcOptions{token: *tok, duration: *duration, inputURL: getenv("STRATA_INPUT_URL"), logLevel: *logLevel}
	if o.duration < 0 {
		return o, usagef("--duration must not be negative")
	}
	if *whip {
		return whipOptions(o, *whipURL, fs, *insecure)
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

// whipOptions resolves --whip: the endpoint URL names the session, so
// only the URL and the token matter.
func whipOptions(o testsrcOptions, raw string, fs *flag.FlagSet, insecure bool) (testsrcOptions, error) {
	if raw == "" {
		return o, usagef("--whip needs --whip-url (or $STRATA_WHIP_URL)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || !strings.Contains(u.Path, "/whip/") {
		return o, usagef("--whip-url %q: want https://host:port/whip/{tenant}/{session}", raw)
	}
	o.whipURL, o.inputURL = raw, ""
	o.insecure = isLoopback(u.Hostname())
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "insecure" {
			o.insecure = insecure
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
	src, err := testsrc.NewSource(clip, testsrc.SourceOptions{NoInput: o.whipURL != ""})
	if err != nil {
		return err
	}
	if o.whipURL != "" {
		return publishTestsrcWHIP(ctx, o, src, log)
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

	err = testsrc.Run(ctx, src, func(ctx context.Context) error {
		return serveTestsrc(ctx, log, src, pub.Serve, func() []any {
			return []any{"subscriptions", pub.Subscriptions(), "input_events", pub.Input().Events}
		})
	})
	log.Info(fmt.Sprintf("published %d frames", src.VideoFrames()+src.AudioFrames()), "done", true)
	return err
}

// publishTestsrcWHIP runs the source and a WHIP publisher until ctx ends;
// the WHIP session is deleted on the way out.
func publishTestsrcWHIP(ctx context.Context, o testsrcOptions, src *testsrc.Source, log *slog.Logger) error {
	tlsConf := &tls.Config{InsecureSkipVerify: o.insecure} //nolint:gosec // opt-in for dev certificates
	dialed := false
	// The source runs while the offer is negotiated, as it does once the
	// peer connection is up.
	err := testsrc.Run(ctx, src, func(ctx context.Context) error {
		pub, err := testsrc.DialWHIP(ctx, src, testsrc.WHIPConfig{URL: o.whipURL, Token: []byte(o.token), TLS: tlsConf, Logger: log})
		if err != nil {
			return err
		}
		dialed = true
		log.Info("publishing over whip", "url", o.whipURL, "insecure", o.insecure,
			"input", "not read over whip (input travels on the session's moq broadcast)")
		return serveTestsrc(ctx, log, src, pub.Serve, func() []any {
			v, a := pub.Packets()
			return []any{"rtp_video", v, "rtp_audio", a}
		})
	})
	if dialed {
		log.Info(fmt.Sprintf("published %d frames", src.VideoFrames()+src.AudioFrames()), "done", true)
	}
	return err
}

// serveTestsrc runs serve (a publisher's Serve) and logs the source's
// frame counts every testsrcProgressEvery until it returns; attrs adds
// the publisher's own counters to each line.
func serveTestsrc(ctx context.Context, log *slog.Logger, src *testsrc.Source, serve func(context.Context) error, attrs func() []any) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		t := time.NewTicker(testsrcProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				log.Info(fmt.Sprintf("published %d frames", src.VideoFrames()+src.AudioFrames()),
					append([]any{"video", src.VideoFrames(), "audio", src.AudioFrames()}, attrs()...)...)
			}
		}
	})
	return serve(ctx)
}
