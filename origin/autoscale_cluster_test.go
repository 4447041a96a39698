package origin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/promtest"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/origin"
	"github.com/strata-edge/strata/origin/controller"
)

// fleet carries out the exec provider's actions for the test: the
// provider's command (a shell one-liner) writes each action to a spool
// directory, and fleet starts an in-process edge per node added and
// drains and closes each node removed. Real `strata edge` processes take
// too long to start on two shared cores, so the edges are in-process; the
// command, its JSON on stdin and its spool are real.
type fleet struct {
	t     *testing.T
	c     *testcluster.Cluster
	spool string

	mu      sync.Mutex
	seen    map[string]autoscale.Action // by decision ID
	added   []string
	removed []string
	next    int
	// onAction, when set, runs when a new action is read.
	onAction func(a autoscale.Action)
}

// command is autoscale.exec.command: write stdin to <spool>/<id>.json
// atomically; with <spool>/slow present, linger 5 s after (a slow cloud
// API, for killing the leader while the action runs).
func (f *fleet) command() []string {
	script := `set -e; f="$0/$STRATA_DECISION_ID.json"; cat > "$f.tmp"; mv "$f.tmp" "$f"; if [ -e "$0/slow" ]; then sleep 5; fi`
	return []string{"sh", "-c", script, f.spool}
}

// run reads the spool until ctx ends.
func (f *fleet) run(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		files, _ := filepath.Glob(filepath.Join(f.spool, "*.json"))
		sort.Strings(files)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			var a autoscale.Action
			if err := json.Unmarshal(b, &a); err != nil {
				f.t.Errorf("action %s: %v", file, err)
				continue
			}
			f.mu.Lock()
			_, dup := f.seen[a.DecisionID]
			if !dup {
				f.seen[a.DecisionID] = a
			}
			hook := f.onAction
			f.mu.Unlock()
			if dup {
				continue
			}
			if hook != nil {
				hook(a)
			}
			f.apply(a)
		}
	}
}

func (f *fleet) apply(a autoscale.Action) {
	for range a.Add {
		f.mu.Lock()
		f.next++
		id := fmt.Sprintf("edge-%d", f.next)
		f.added = append(f.added, id)
		f.mu.Unlock()
		if _, err := f.c.StartEdge(asEdge(id)); err != nil {
			f.t.Errorf("start %s: %v", id, err)
		}
	}
	for _, id := range a.Remove {
		f.mu.Lock()
		f.removed = append(f.removed, id)
		f.mu.Unlock()
		if err := f.c.DrainEdge(context.Background(), id); err != nil {
			f.t.Errorf("remove %s: %v", id, err)
		}
	}
}

func (f *fleet) counts() (added, removed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.added...), append([]string(nil), f.removed...)
}

// asEdge is an edge of pool eu/L4 with room for two 10 Mbit/s sessions.
func asEdge(id string) testcluster.EdgeSpec {
	return testcluster.EdgeSpec{ID: id, Region: "eu", NICMbps: 25, Lat: 48.8, Lon: 2.3}
}

// promServer is a Debian prometheus process the test can kill and start
// again on the same port and storage (promtest.Start picks a new port
// each time, and the origins are configured with the address before
// Prometheus first starts).
type promServer struct {
	t         *testing.T
	bin, addr string
	cfg, tsdb string
	mu        sync.Mutex
	cmd       *exec.Cmd
	logs      bytes.Buffer
}

func (p *promServer) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = exec.Command(p.bin, "--config.file="+p.cfg, "--storage.tsdb.path="+p.tsdb, "--web.listen-address="+p.addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

// kill stops the process at once (SIGKILL), as a crash would.
func (p *promServer) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// TestAutoscalerEndToEnd: a real Prometheus scrapes a real three-origin
// cluster through service discovery, and the leader's autoscaler drives
// the exec provider. Sessions ramp up and the pool grows until they are
// all placed; Prometheus is killed and, though demand fell, nothing is
// scaled in; it comes back and the emptiest edges are drained and
// removed while the one holding a session stays; the leader is killed
// while the provider is adding a node and the new leader adds nothing
// twice.
func TestAutoscalerEndToEnd(t *testing.T) {
	promPath, _ := promtest.Programs(t)
	dir := t.TempDir()
	ports, err := netutil.FreeLoopbackAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, spool: filepath.Join(dir, "spool"), seen: map[string]autoscale.Action{}}
	if err := os.MkdirAll(f.spool, 0o700); err != nil {
		t.Fatal(err)
	}
	pool := autoscale.Pool{Region: "eu", Class: "L4", Min: 1, Max: 4, SlotsPerNode: 2,
		ScaleDownWindow: 2 * time.Second, LeadTime: 10 * time.Second, DrainDeadline: time.Minute}
	c, err := testcluster.Start(testcluster.Options{Origins: 3, Dir: filepath.Join(dir, "cluster"), RaftProfile: "wan",
		Configure: func(cfg *origin.Config) {
			cfg.Autoscale = origin.AutoscaleConfig{
				Enabled: true, PrometheusURL: "http://" + ports[0], Interval: 250 * time.Millisecond,
				Pools: []autoscale.Pool{pool},
				// The default growth query projects from deriv() over two
				// minutes, which makes a few-second test's sizes depend on
				// timing; the same series times zero keeps the input (and
				// its absence when Prometheus is down) without the slope.
				Queries: controllerQueries(),
				Exec:    origin.AutoscaleExecConfig{Command: f.command(), Timeout: 30 * time.Second},
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.c = c
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// The fleet starts at min: one edge, from the first decision.
	poll.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		if added, _ := f.counts(); len(added) != 1 {
			return fmt.Errorf("edges added %v, want the pool's min of 1", added)
		}
		return nil
	})
	if err := c.WaitEdges([]string{"edge-1"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	// Prometheus, finding the cluster through every origin's service
	// discovery (any of them may be the one killed later).
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(c.AdminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "cluster", "origin-1", "pki", "ca.crt")
	var sd strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&sd, `      - url: https://%s/v1/prometheus/targets
        refresh_interval: 1s
        authorization: {type: Bearer, credentials_file: %q}
        tls_config: {ca_file: %q, server_name: %s}
`, n.APIAddr(), tokenFile, caFile, pki.ServerName)
	}
	ps := &promServer{t: t, bin: promPath, addr: ports[0], cfg: filepath.Join(dir, "prometheus.yml"), tsdb: filepath.Join(dir, "tsdb")}
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
scrape_configs:
  - job_name: strata
    scrape_interval: 500ms
    scrape_timeout: 500ms
    tls_config: {ca_file: %q, server_name: %s}
    http_sd_configs:
%s`, caFile, pki.ServerName, sd.String())
	if err := os.WriteFile(ps.cfg, []byte(promCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ps.start()
	t.Cleanup(func() {
		if t.Failed() {
			for _, q := range []string{"strata_placement_region_sessions", "strata_placement_region_pending_sessions", `up{job="strata"}`} {
				if resp, err := http.Get("http://" + ports[0] + "/api/v1/query?query=" + url.QueryEscape(q)); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("prometheus %s: %.2000s", q, b)
				}
			}
		}
		ps.kill()
		if t.Failed() {
			t.Logf("prometheus log:\n%.3000s", ps.logs.String())
		}
	})
	cl := func() *api.Client {
		for i := range c.Nodes {
			if c.Nodes[i].Origin() != nil {
				return c.NodeClient(i)
			}
		}
		t.Fatal("no origin running")
		return nil
	}
	waitMetrics := func(want bool) {
		t.Helper()
		poll.For(t, 45*time.Second, 100*time.Millisecond, func() error {
			a, err := cl().Autoscaler(ctx, 1)
			if err != nil {
				return err
			}
			if len(a.Decisions) == 0 || !strings.Contains(a.Decisions[0].Inputs, fmt.Sprintf(`"metrics_ok":%t`, want)) {
				return fmt.Errorf("newest decision %+v, want metrics_ok %t", a.Decisions, want)
			}
			return nil
		})
	}

	// Demand: five 10 Mbit/s sessions, two per edge. Three wait.
	var ten *api.Tenant
	attempt := 0
	retryAPI(t, func() (err error) {
		attempt++
		ten, err = cl().Tenants().Create(ctx, api.TenantCreate{Name: fmt.Sprintf("scale-%d", attempt)})
		return err
	})
	var app *api.App
	retryAPI(t, func() (err error) {
		attempt++
		app, err = cl().Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: fmt.Sprintf("game-%d", attempt), Command: []string{"true"}, EgressMbps: 10})
		return err
	})
	create := func(n int) []string {
		var out []string
		for range n {
			var s *api.Session
			retryAPI(t, func() (err error) {
				s, err = cl().Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu", Async: true})
				return err
			})
			out = append(out, s.ID)
		}
		return out
	}
	placed := func(ids []string) func() error {
		return func() error {
			for _, id := range ids {
				s, err := cl().Sessions().Get(ctx, id, api.Consistency("stale"))
				if err != nil {
					return err
				}
				if s.Reservation == nil || s.State.Terminal() {
					return fmt.Errorf("session %s is %s with reservation %v", id, s.State, s.Reservation)
				}
			}
			return nil
		}
	}
	ses := create(5)
	poll.For(t, 60*time.Second, 100*time.Millisecond, placed(ses))
	added, _ := f.counts()
	if len(added) != 3 {
		t.Fatalf("edges %v after five sessions at two per edge, want 3", added)
	}
	waitMetrics(true)

	// Prometheus dies, then demand falls to one session: the pool wants
	// one edge, but without metrics nothing is drained, for many rounds
	// and windows.
	ps.kill()
	waitMetrics(false)
	keep := ses[0]
	for _, id := range ses[1:] {
		retryAPI(t, func() error { _, err := cl().Sessions().Terminate(ctx, id, "test"); return err })
	}
	deadline := time.Now().Add(3 * pool.ScaleDownWindow)
	for time.Now().Before(deadline) {
		views, err := testcluster.EdgeStatuses(ctx, cl())
		if err != nil {
			continue
		}
		for id, v := range views {
			if v.Draining {
				t.Fatalf("%s drained while Prometheus was down", id)
			}
		}
		if _, removed := f.counts(); len(removed) > 0 {
			t.Fatalf("removed %v while Prometheus was down", removed)
		}
		time.Sleep(100 * time.Millisecond) // observing a period, not waiting for a change
	}

	// Prometheus is back: after the window the two emptiest edges are
	// drained and removed; the edge holding the session stays, and the
	// session was never touched.
	ps.start()
	var home string
	poll.For(t, 20*time.Second, 100*time.Millisecond, func() error {
		s, err := cl().Sessions().Get(ctx, keep, "")
		if err != nil {
			return err
		}
		home = s.Reservation.NodeID
		return nil
	})
	poll.For(t, 90*time.Second, 100*time.Millisecond, func() error {
		if _, removed := f.counts(); len(removed) != 2 {
			return fmt.Errorf("removed %v, want the two empty edges", removed)
		}
		return nil
	})
	_, removed := f.counts()
	for _, id := range removed {
		if id == home {
			t.Fatalf("removed %s, which holds session %s", id, keep)
		}
	}
	s, err := cl().Sessions().Get(ctx, keep, "")
	if err != nil || s.State.Terminal() || s.Reservation == nil || s.Reservation.NodeID != home {
		t.Fatalf("kept session after scale-in: %+v, %v", s, err)
	}

	// The leader dies while the provider adds a node: the decision was
	// committed first, so the next leader counts the node as on its way
	// and asks for nothing more.
	if err := os.WriteFile(filepath.Join(f.spool, "slow"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	killed := make(chan int, 1)
	var once sync.Once
	f.mu.Lock()
	f.onAction = func(a autoscale.Action) {
		if a.Add == 0 {
			return
		}
		once.Do(func() {
			l := c.Leader()
			if l >= 0 {
				if err := c.Kill(l); err != nil {
					t.Errorf("kill leader: %v", err)
				}
			}
			killed <- l
		})
	}
	f.mu.Unlock()
	before, _ := f.counts()
	more := create(3) // 4 sessions at 2 per edge: one more edge
	var dead int
	select {
	case dead = <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("no scale-up for three more sessions")
	}
	if dead < 0 {
		t.Fatal("no leader to kill")
	}
	poll.For(t, 60*time.Second, 100*time.Millisecond, placed(append(more, keep)))
	// Rounds of the new leader pass; still one edge added.
	var newLeader int
	poll.For(t, 20*time.Second, 50*time.Millisecond, func() error {
		if newLeader = c.Leader(); newLeader < 0 || newLeader == dead {
			return errors.New("no new leader")
		}
		return nil
	})
	settle := time.Now().Add(2 * time.Second)
	for time.Now().Before(settle) {
		time.Sleep(100 * time.Millisecond) // observing a period, not waiting for a change
	}
	after, _ := f.counts()
	if len(after)-len(before) != 1 {
		t.Fatalf("edges added across the leader change: %v, want exactly one", after[len(before):])
	}
	a, err := c.NodeClient(newLeader).Autoscaler(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Pools) != 1 || a.Pools[0].Name != "eu/L4" || a.Pools[0].Nodes != 2 {
		t.Fatalf("autoscaler pools %+v", a.Pools)
	}
}

// controllerQueries are the default queries but for growth (see the
// test's configuration).
func controllerQueries() controller.Queries {
	return controller.Queries{Growth: `max by (region, class) (strata_placement_region_sessions) * 0`}
}
