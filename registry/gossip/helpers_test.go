package gossip

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a goroutine-safe log sink for asserting on log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testNode struct {
	*Pool
	logs *syncBuffer
	reg  *prometheus.Registry
}

func testKey(t testing.TB) string {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testMeta(id string) Meta {
	return Meta{ID: id, Role: RoleEdge, Region: "eu-west", Zone: "a", Lat: 48.8566, Lon: 2.3522,
		Addrs: Addrs{API: "127.0.0.1:8443", QUIC: "127.0.0.1:4433"}, NICMbps: 10000, GPUCount: 1}
}

// newNode starts a pool on a random loopback port with the local profile;
// mutate adjusts the config. The pool is shut down when the test ends.
func newNode(t testing.TB, id string, keys []string, mutate func(*Config)) *testNode {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	cfg := Config{
		Meta:         testMeta(id),
		BindAddr:     "127.0.0.1",
		Keys:         keys,
		Profile:      ProfileLocal,
		LoadInterval: 100 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg, Deps{
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: reg,
	})
	if err != nil {
		t.Fatalf("New(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = p.Close(crashed()) })
	return &testNode{Pool: p, logs: logs, reg: reg}
}

// cluster starts n nodes sharing one key, all joined through the first.
func cluster(t testing.TB, n int, mutate func(*Config)) []*testNode {
	t.Helper()
	key := testKey(t)
	nodes := make([]*testNode, n)
	for i := range nodes {
		nodes[i] = newNode(t, fmt.Sprintf("node-%02d", i), []string{key}, mutate)
		if i > 0 {
			if _, err := nodes[i].Join([]string{nodes[0].Addr()}); err != nil {
				t.Fatalf("join %d: %v", i, err)
			}
		}
	}
	return nodes
}

func stateOf(p *Pool, id string) State {
	m, ok := p.Member(id)
	if !ok {
		return 0
	}
	return m.State
}

// allSee reports the first node that does not see every id in the given state.
func allSee(nodes []*testNode, ids []string, want State) error {
	for _, n := range nodes {
		for _, id := range ids {
			if s := stateOf(n.Pool, id); s != want {
				return fmt.Errorf("%s sees %s as %v, want %v", n.ID(), id, s, want)
			}
		}
	}
	return nil
}

func ids(nodes []*testNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID()
	}
	return out
}

// waitEvent reads events until one of type typ about id arrives.
func waitEvent(t testing.TB, p *Pool, typ EventType, id string, timeout time.Duration) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Type == typ && ev.Member.Meta.ID == id {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event for %s within %v", typ, id, timeout)
		}
	}
}
