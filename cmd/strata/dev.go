package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/origin"
	"github.com/strata-edge/strata/registry/gossip"
)

func init() {
	commands["dev"] = command{"run a whole cluster in one process with a demo session", runDev}
}

// devEdges are the demo edges: two regions, fake GPUs.
var devEdges = []struct {
	id, region string
	lat, lon   float64
	gpus       string
}{
	{"edge-eu-1", "eu-west", 50.11, 8.68, "fake:2xL4:24GB"},
	{"edge-us-1", "us-east", 39.04, -77.49, "fake:2xL4:24GB"},
}

func runDev(args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dir := fs.String("data-dir", ".strata-dev", "state directory (wiped at start)")
	apiAddr := fs.String("api-addr", "127.0.0.1:7070", "origin API address")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata dev [flags]\n\nRuns one origin (single-voter Raft), two edges in two regions and a demo\ntenant, app and session, all in this process on loopback.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, "text", *level)
	if err != nil {
		return usagef("%v", err)
	}
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	key, err := gossip.GenerateKey()
	if err != nil {
		return err
	}
	ports, err := netutil.FreeLoopbackAddrs(2 + len(devEdges))
	if err != nil {
		return err
	}
	cfg := origin.Defaults()
	cfg.NodeID, cfg.DataDir, cfg.Bootstrap = "origin-1", filepath.Join(*dir, "origin-1"), true
	cfg.API.Addr, cfg.Raft.Addr, cfg.Gossip.Addr = *apiAddr, ports[0], ports[1]
	cfg.Gossip.Keys, cfg.Gossip.Profile = []string{key}, string(gossip.ProfileLocal)
	o, err := origin.New(cfg, origin.Deps{Logger: log})
	if err != nil {
		return err
	}
	defer o.Close(context.Background())
	admin := api.New(o.AdminToken(), o.APIAddr()).WithTLS(pki.TrustConfig(o.CA()))
	if err := waitReady(ctx, o); err != nil {
		return err
	}

	joinTok, err := admin.Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: "dev edges", TTLSeconds: 3600, MaxUses: int64(len(devEdges))})
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	for i, e := range devEdges {
		ecfg := edge.Defaults()
		ecfg.NodeID, ecfg.Region, ecfg.Lat, ecfg.Lon, ecfg.GPUs = e.id, e.region, e.lat, e.lon, e.gpus
		ecfg.Join, ecfg.NICMbps = []string{o.APIAddr()}, 10000
		ecfg.Token, ecfg.CAFingerprint, ecfg.DataDir = joinTok.Token, joinTok.CAFingerprint, filepath.Join(*dir, e.id)
		ecfg.Gossip.Addr, ecfg.Gossip.Keys, ecfg.Gossip.Profile = ports[2+i], []string{key}, string(gossip.ProfileLocal)
		ecfg.DrainGrace = 0
		// Two edges in one process: metrics on a port the kernel picks
		// (service discovery and /v1/nodes list it) instead of the default.
		ecfg.Metrics.Addr = "127.0.0.1:0"
		// Media on loopback ports the kernel picks; the edge advertises
		// what it bound, with a self-signed certificate.
		ecfg.Media = edge.MediaConfig{QUICAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", WebRTCAddr: "127.0.0.1:0"}
		// The process runtime runs the sessions placed on the edge.
		ecfg.Runtime = edge.RuntimeConfig{StateDir: filepath.Join(*dir, e.id, "runtime"), StopGrace: 2 * time.Second}
		if os.Geteuid() == 0 {
			// One user's local cluster: started as root, its instances
			// (this binary, wherever it lies) run as root, explicitly;
			// the rest of the sandbox still applies.
			ecfg.Runtime.User, ecfg.Runtime.AllowRoot = "0", true
		}
		ed, err := edge.New(ecfg, edge.Deps{Logger: log})
		if err != nil {
			return fmt.Errorf("edge %s: %w", e.id, err)
		}
		defer ed.Close(context.Background())
	}
	if err := waitEdges(ctx, admin, len(devEdges)); err != nil {
		return err
	}

	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "demo", Quota: &api.Quota{MaxSessions: 10}})
	if err != nil {
		return err
	}
	tkey, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "demo backend"})
	if err != nil {
		return err
	}
	tenant := admin.WithToken(tkey.Token)
	// The demo app is this binary's test source: the edge's process
	// runtime starts it with the session's publish URL, token and GPUs.
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own executable: %w", err)
	}
	app, err := tenant.Apps().Create(ctx, api.AppSpec{Name: "demo-game", Command: []string{exe, "testsrc", "--log-level", "warn"},
		GPUs: 1, GPUMemoryMB: 8192, EgressMbps: 8, IdlePolicy: api.IdleNone, RestartPolicy: api.RestartAlways})
	if err != nil {
		return err
	}
	caFile, err := filepath.Abs(filepath.Join(cfg.DataDir, "pki", "ca.crt"))
	if err != nil {
		return err
	}
	lat, lon := 48.85, 2.35 // a player in Paris
	ses, err := tenant.Sessions().Create(ctx, api.SessionSpec{AppID: app.ID, Lat: &lat, Lon: &lon})
	if err != nil {
		return err
	}
	view, viewErr := tenant.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Lat: &lat, Lon: &lon})
	pub, pubErr := tenant.Sessions().Publisher(ctx, ses.ID)
	// The demo session's stream comes from its instance, which the
	// edge's runtime started: `strata testsrc` with the session env.
	if s, err := waitRunning(ctx, tenant, ses.ID); err == nil {
		ses = s
	} else {
		log.Warn("demo session not running yet", "err", err)
	}

	fmt.Printf(`
Strata dev cluster is up.

  origin API     https://%[1]s   (metrics: https://%[1]s/metrics)
  cluster CA     %[9]s  (%[10]s)
  edges          %[2]s (eu-west), %[3]s (us-east)
  admin token    %[4]s
  tenant key     %[5]s
  demo session   %[6]s  state=%[7]s  edge=%[8]s
`, o.APIAddr(), devEdges[0].id, devEdges[1].id, o.AdminToken(), tkey.Token, ses.ID, ses.State, reservationNode(ses), caFile, pki.Fingerprint(o.CA()))
	cli, onPath := cliName(exe)
	if viewErr == nil {
		fmt.Printf("  viewer         edge=%s token=%s…\n", view.Edge, view.Token[:min(24, len(view.Token))])
		if view.MoQURL != "" {
			fmt.Printf("  moq (view)     %s\n", view.MoQURL)
		}
		if view.WHEPURL != "" {
			fmt.Printf("  whep (view)    %s\n", view.WHEPURL)
		}
		if view.PlayerURL != "" {
			// The page is on the edge's self-signed HTTPS: accept it once in
			// the browser; WebTransport then pins the certificate by hash.
			fmt.Printf("  player         %s\n", view.PlayerURL)
		}
		fmt.Print(tokenExpiryHint(cli, ses.ID, view.ExpiresAt))
	} else {
		fmt.Printf("  viewer         %v\n", viewErr)
	}
	if pubErr == nil {
		fmt.Printf("  publish to     %s (MoQ)  %s (WHIP)  edge=%s\n", pub.MoQURL, pub.WHIPURL, pub.Edge)
		fmt.Printf("  demo stream    its instance (%s testsrc, run by the edge's process runtime) publishes a looped H.264 + Opus clip there\n", exe)
	}
	pathNote := ""
	if !onPath {
		pathNote = "  (strata is not on PATH here; make install puts it there)\n"
	}
	fmt.Printf(`
Try the CLI (it trusts the cluster CA from the file; --ca-fingerprint pins it instead):
  export STRATA_ADDR=%s STRATA_TOKEN=%s STRATA_CA_FILE=%s
  %[4]s nodes list
  %[4]s sessions list
  %[4]s cluster status
%[5]s
Edges serve MoQ (raw QUIC and WebTransport) and WHIP/WHEP with self-signed
certificates; tokens come from POST /v1/sessions/{id}/viewers and /publishers.
Ctrl-C stops everything.
`, o.APIAddr(), o.AdminToken(), caFile, cli, pathNote)
	<-ctx.Done()
	fmt.Println("\nshutting down")
	return nil
}

// cliName is how to run this binary from the working directory, for the
// user to paste: "strata" when PATH finds this very binary, else a path
// to exe (relative when under the working directory); and whether PATH
// finds it.
func cliName(exe string) (string, bool) {
	if p, err := exec.LookPath("strata"); err == nil && sameFile(p, exe) {
		return "strata", true
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			if !strings.Contains(rel, string(filepath.Separator)) {
				rel = "." + string(filepath.Separator) + rel
			}
			return rel, false
		}
	}
	return exe, false
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// waitRunning waits until the session's edge reports its first keyframe.
func waitRunning(ctx context.Context, cl *api.Client, id string) (*api.Session, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := cl.Sessions().Get(ctx, id, "")
		if err == nil && (s.State == api.StateRunning || s.State.Terminal()) {
			return s, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("session %s is %s", id, s.State)
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func reservationNode(s *api.Session) string {
	if s.Reservation == nil {
		return "-"
	}
	return s.Reservation.NodeID
}

func waitReady(ctx context.Context, o *origin.Origin) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := o.Registry().State().ActiveSigningKey(); ok && o.Registry().IsLeader() {
			if _, ok := o.Registry().State().APIKey("admin"); ok {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("origin did not become ready")
}

func waitEdges(ctx context.Context, admin *api.Client, n int) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if edges, err := admin.Nodes().List(ctx, api.NodeFilter{Role: api.RoleEdge}); err == nil {
			alive := 0
			for _, it := range edges {
				if it.State == api.NodeAlive {
					alive++
				}
			}
			if alive == n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("edges did not register in time")
}

// tokenExpiryHint says when the demo viewer's token (and so the player
// URL) stops working, and how to get a new one: the player shows "token
// expired" then, and needs a fresh URL or token.
func tokenExpiryHint(cli, session string, expires time.Time) string {
	return fmt.Sprintf("  token expires  %s (in %s); a new player URL: %s sessions viewer %s\n",
		expires.Local().Format("15:04:05"), time.Until(expires).Round(time.Minute), cli, session)
}
