package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/gpu"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry/gossip"
)

// recReconciler records every desired set it is handed, as session ids.
type recReconciler struct {
	mu   sync.Mutex
	sets [][]string
}

func (r *recReconciler) Reconcile(_ context.Context, sessions []api.Session) error {
	ids := []string{}
	for _, s := range sessions {
		ids = append(ids, s.ID)
	}
	r.mu.Lock()
	r.sets = append(r.sets, ids)
	r.mu.Unlock()
	return nil
}

func (r *recReconciler) seen() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sets)
}

// testLogger collects logs in a buffer shown when the test fails. It does
// not write to t.Log directly: memberlist may still log from a connection
// goroutine just after Shutdown, and t.Log after the test ends is a race.
func testLogger(t *testing.T) *slog.Logger {
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// originPool is a gossip member standing in for an origin.
func originPool(t *testing.T, key string) *gossip.Pool {
	p, err := gossip.New(gossip.Config{
		Meta:     gossip.Meta{ID: "origin-1", Role: gossip.RoleOrigin, Region: "eu-west", Addrs: gossip.Addrs{API: "127.0.0.1:1"}},
		BindAddr: "127.0.0.1", Keys: []string{key}, Profile: gossip.ProfileLocal,
		LoadInterval: 100 * time.Millisecond,
	}, gossip.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(crashed()) })
	return p
}

func testConfig(origin, key string) Config {
	return Config{
		NodeID: "edge-1", Join: []string{origin},
		Region: "eu-west", Zone: "b", Lat: 48.8566, Lon: 2.3522,
		GPUs: "fake:2xH200:141GB", NICMbps: 25000,
		Advertise: AdvertiseConfig{API: "127.0.0.1:9443", QUIC: "127.0.0.1:4433"},
		Gossip:    GossipConfig{Addr: "127.0.0.1:0", Keys: []string{key}, Profile: "local"},
		Labels:    map[string]string{"tier": "gold"},

		LoadInterval: 100 * time.Millisecond, DrainGrace: 500 * time.Millisecond,
		AssignmentWait: 2 * time.Second, LeaveTimeout: 2 * time.Second,
	}
}

func TestEdgeLifecycle(t *testing.T) {
	key, err := gossip.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	op := originPool(t, key)
	fo := newFakeOrigin(t)
	fo.seeds = []string{op.Addr()}
	fo.register404 = 1 // the route is not deployed yet on the first try

	rec := &recReconciler{}
	media := MediaLoad{EgressBps: 123_000_000, Viewers: 7, Sessions: 2}
	e, err := New(testConfig(fo.addr(), key), Deps{
		Logger: testLogger(t), Reconciler: rec, Load: func() MediaLoad { return media },
		Identity: fo.identity(pki.RoleEdge, "edge-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	wantGPUs, _ := gpu.ParseFakeSpec("2xH200:141GB")

	t.Run("registers after a 404", func(t *testing.T) {
		poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
			if regs, _, _ := fo.snapshot(); len(regs) < 2 {
				return fmt.Errorf("%d registration attempts", len(regs))
			}
			return nil
		})
		regs, _, bad := fo.snapshot()
		r := regs[len(regs)-1]
		if bad != 0 || r.ID != "edge-1" || r.Region != "eu-west" || r.Zone != "b" || r.NICMbps != 25000 ||
			r.Labels["tier"] != "gold" || r.Addrs["api"] != "127.0.0.1:9443" || r.Addrs["gossip"] != e.Pool().Addr() {
			t.Fatalf("registration %+v (bad auth %d)", r, bad)
		}
		if len(r.GPUs) != 2 || r.GPUs[1].Index != 1 || r.GPUs[1].Model != "H200" || r.GPUs[1].MemoryMB != 141*1024 {
			t.Fatalf("gpus %+v", r.GPUs)
		}
	})

	t.Run("joins gossip with its meta", func(t *testing.T) {
		poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
			m, ok := op.Member("edge-1")
			if !ok || m.State != gossip.StateAlive {
				return fmt.Errorf("edge not alive in origin pool: %v %v", ok, m.State)
			}
			return nil
		})
		m, _ := op.Member("edge-1")
		want := gossip.Meta{ID: "edge-1", Role: gossip.RoleEdge, Region: "eu-west", Zone: "b", Lat: 48.8566, Lon: 2.3522,
			Addrs:   gossip.Addrs{API: "127.0.0.1:9443", QUIC: "127.0.0.1:4433"},
			NICMbps: 25000, GPUCount: 2, GPUDigest: gpu.Digest(wantGPUs)}
		if m.Meta != want {
			t.Fatalf("meta\n got %+v\nwant %+v", m.Meta, want)
		}
	})

	t.Run("load is fresh", func(t *testing.T) {
		poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
			m, _ := op.Member("edge-1")
			l := m.Load
			if l.EgressBps != media.EgressBps || l.Viewers != 7 || l.Sessions != 2 {
				return fmt.Errorf("load %+v", l)
			}
			if l.GPUUtilPct != 0 || l.GPUMemUsedMB != 0 { // fake GPUs report idle
				return fmt.Errorf("gpu load %+v", l)
			}
			if m.Stale() || m.LoadAge() > 2*time.Second {
				return fmt.Errorf("stale load, age %v", m.LoadAge())
			}
			return nil
		})
		m, _ := op.Member("edge-1")
		seq := m.LoadSeq
		poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
			if m, _ := op.Member("edge-1"); m.LoadSeq <= seq {
				return errors.New("load sequence did not advance")
			}
			return nil
		})
	})

	t.Run("follows assignments in order through a 503", func(t *testing.T) {
		until := func(n int) {
			poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
				if got := rec.seen(); len(got) < n {
					return fmt.Errorf("reconciler saw %v", got)
				}
				return nil
			})
		}
		until(1) // the initial, empty set
		fo.setSessions(false, "ses_a")
		until(2)
		fo.setSessions(true, "ses_a", "ses_b") // the waiting query gets a 503
		until(3)
		want := [][]string{{}, {"ses_a"}, {"ses_a", "ses_b"}}
		if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Fatalf("reconciler saw %v, want %v", got, want)
		}
		if _, served, _ := fo.snapshot(); served != 1 {
			t.Fatalf("served %d 503s, want 1", served)
		}
	})

	t.Run("drain then leave", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- errors.Join(e.Drain(context.Background()), e.Close(context.Background())) }()
		sawDraining := false
		deadline := time.After(15 * time.Second)
	events:
		for {
			select {
			case ev := <-op.Events():
				if ev.Member.Meta.ID != "edge-1" {
					continue
				}
				switch ev.Type {
				case gossip.EventUpdate:
					sawDraining = sawDraining || ev.Member.Meta.Draining
				case gossip.EventLeave:
					break events
				case gossip.EventFailed:
					t.Fatal("drained edge reported as failed")
				}
			case <-deadline:
				t.Fatal("no leave event")
			}
		}
		if !sawDraining {
			t.Fatal("left without gossiping draining first")
		}
		if err := <-done; err != nil {
			t.Fatalf("Drain: %v", err)
		}
		if m, _ := op.Member("edge-1"); m.State != gossip.StateLeft || !m.Meta.Draining {
			t.Fatalf("after drain: %v draining=%v", m.State, m.Meta.Draining)
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := e.Drain(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Drain after close: %v", err)
		}
	})
}

func TestConfigValidateNamesKey(t *testing.T) {
	key, _ := gossip.GenerateKey()
	base := testConfig("127.0.0.1:7070", key)
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"node_id", func(c *Config) { c.NodeID = "" }},
		{"join", func(c *Config) { c.Join = nil }},
		{"join[0]", func(c *Config) { c.Join = []string{"nohost"} }},
		{"region", func(c *Config) { c.Region = "" }},
		{"lat", func(c *Config) { c.Lat = 91 }},
		{"lon", func(c *Config) { c.Lon = -181 }},
		{"nic_mbps", func(c *Config) { c.NICMbps = -1 }},
		{"gpus", func(c *Config) { c.GPUs = "lots" }},
		{"gossip.keys", func(c *Config) { c.Gossip.Keys = nil }},
		{"gossip.addr", func(c *Config) { c.Gossip.Addr = "x" }},
		{"gossip.profile", func(c *Config) { c.Gossip.Profile = "moon" }},
		{"media.quic_addr", func(c *Config) { c.Media.QUICAddr = "4443" }},
		{"media.http_addr", func(c *Config) { c.Media.HTTPAddr = "127.0.0.1:x" }},
		{"media.http_addr", func(c *Config) { c.Media.HTTPAddr = "127.0.0.1:8443" }},
		{"media.webrtc_addr", func(c *Config) { c.Media.WebRTCAddr = "127.0.0.1:9000" }},
		{"media.tls.key_file", func(c *Config) { c.Media.QUICAddr, c.Media.TLS.KeyFile = "127.0.0.1:0", "key.pem" }},
		{"media.tls.mode", func(c *Config) { c.Media.QUICAddr, c.Media.TLS.Mode = "127.0.0.1:0", "public" }},
		{"media.tls.acme.domains", func(c *Config) { c.Media.QUICAddr, c.Media.TLS.Mode = "127.0.0.1:0", certs.ModeACME }},
		{"media.keys_refresh", func(c *Config) { c.Media.QUICAddr, c.Media.KeysRefresh = "127.0.0.1:0", -1 }},
		{"metrics.addr", func(c *Config) { c.Metrics.Addr = "9100" }},
		{"metrics.token_file", func(c *Config) { c.Metrics.Token, c.Metrics.TokenFile = "t", "f" }},
		{"runtime.drivers", func(c *Config) { c.Runtime.Drivers = []string{"lxc"} }},
		{"runtime.kubernetes.gpus", func(c *Config) { c.Runtime.Kubernetes.GPUs = "all" }},
		{"runtime.kubernetes.network", func(c *Config) { c.Runtime.Kubernetes.Network = "bridge" }},
		{"runtime.drivers", func(c *Config) { c.Runtime.Drivers = []string{"docker", "docker"} }},
		{"runtime.docker.gpus", func(c *Config) { c.Runtime.Docker.GPUs = "all" }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := base
			tt.mutate(&c)
			c.setDefaults()
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.key+":") {
				t.Fatalf("err = %v, want one naming %s", err, tt.key)
			}
		})
	}
	c := base
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestNewFailsWithoutNIC(t *testing.T) {
	key, _ := gossip.GenerateKey()
	cfg := testConfig("127.0.0.1:7070", key)
	cfg.NICMbps = 0
	_, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler),
		NICProbe: gpu.NICProbe{RouteFile: t.TempDir() + "/none", SysNetDir: t.TempDir()}})
	if !errors.Is(err, ErrNoNIC) {
		t.Fatalf("err = %v, want ErrNoNIC", err)
	}
}

func TestKillIsAFailure(t *testing.T) {
	key, err := gossip.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	op := originPool(t, key)
	fo := newFakeOrigin(t)
	cfg := testConfig(fo.addr(), key)
	cfg.Gossip.Seeds = []string{op.Addr()} // configured seeds: no origin lookup
	e, err := New(cfg, Deps{Logger: testLogger(t), Identity: fo.identity(pki.RoleEdge, "edge-1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if m, _ := op.Member("edge-1"); m.State != gossip.StateAlive {
			return fmt.Errorf("edge not alive: %s", m.State)
		}
		return nil
	})
	if err := e.Close(crashed()); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 15*time.Second, 10*time.Millisecond, func() error {
		if m, _ := op.Member("edge-1"); m.State != gossip.StateDead {
			return fmt.Errorf("killed edge is %s", m.State)
		}
		return nil
	})
	if err := e.Close(context.Background()); err != nil { // after a crash: a no-op, no panic
		t.Fatal(err)
	}
}
