package origin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/registry/gossip"
)

// syncBuffer is a log sink safe for concurrent writers.
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

// edgeIDs names n edges edge-00, edge-01, ...
func edgeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("edge-%02d", i)
	}
	return ids
}

// waitEdge polls the leader's GET /v1/nodes until edge id satisfies ok.
func waitEdge(t *testing.T, c *testcluster.Cluster, id string, d time.Duration, ok func(api.NodeView) error) {
	t.Helper()
	poll.For(t, d, 20*time.Millisecond, func() error {
		l := c.Leader()
		if l < 0 {
			return errors.New("no leader")
		}
		st, err := testcluster.EdgeStatuses(context.Background(), c.NodeClient(l))
		if err != nil {
			return err
		}
		n, found := st[id]
		if !found {
			return fmt.Errorf("%s not registered", id)
		}
		return ok(n)
	})
}

func wantState(state api.NodeState) func(api.NodeView) error {
	return func(n api.NodeView) error {
		if n.State != state {
			return fmt.Errorf("%s is %s (%s), want %s", n.ID, n.State, n.Reason, state)
		}
		return nil
	}
}

// TestGossipEdgesLifecycle: 20 edges join one origin and show up alive
// with their gossiped load; a hard-stopped edge becomes dead, a drained
// one left, and the others stay alive.
func TestGossipEdgesLifecycle(t *testing.T) {
	c := startCluster(t, 1)
	ids := edgeIDs(20)
	_, err := c.StartEdges(len(ids), func(i int) testcluster.EdgeSpec {
		return testcluster.EdgeSpec{
			ID: ids[i], LoadInterval: 200 * time.Millisecond,
			Load: func() edge.MediaLoad { return edge.MediaLoad{Viewers: uint32(i + 1), EgressBps: uint64(i+1) * 1e6} },
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges(ids, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		waitEdge(t, c, id, 10*time.Second, func(n api.NodeView) error {
			switch {
			case n.State != "alive" || n.Live == nil:
				return fmt.Errorf("%s: state %s, live %v", id, n.State, n.Live)
			case n.Live.Viewers != uint32(i+1) || n.Live.EgressBps != uint64(i+1)*1e6:
				return fmt.Errorf("%s: live load %+v, want %d viewers", id, *n.Live, i+1)
			case n.Live.Stale || n.Live.AgeMs < 0:
				return fmt.Errorf("%s: load stale (age %v ms)", id, n.Live.AgeMs)
			}
			return nil
		})
	}

	tests := []struct {
		name, id string
		want     api.NodeState
		stop     func(id string) error
	}{
		{"hard stop is dead", ids[0], api.NodeDead, c.KillEdge},
		{"drain is left", ids[1], api.NodeLeft, func(id string) error { return c.DrainEdge(context.Background(), id) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.stop(tc.id); err != nil {
				t.Fatalf("stop %s: %v", tc.id, err)
			}
			waitEdge(t, c, tc.id, 15*time.Second, wantState(tc.want))
		})
	}
	if err := c.WaitEdges(ids[2:], 20*time.Second); err != nil {
		t.Fatalf("the other edges: %v", err)
	}
}

// TestGossipRefusals: an edge with another gossip key never joins (and
// the logs say it is a key problem); an edge whose metadata exceeds the
// gossip limit is refused at start with a clear error.
func TestGossipRefusals(t *testing.T) {
	var originLog syncBuffer
	c, err := testcluster.Start(testcluster.Options{
		Origins: 1, Dir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&originLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	t.Run("wrong gossip key", func(t *testing.T) {
		other, err := gossip.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		var edgeLog syncBuffer
		if _, err := c.StartEdge(testcluster.EdgeSpec{
			ID: "edge-badkey", GossipKeys: []string{other},
			Logger: slog.New(slog.NewTextHandler(&edgeLog, nil)),
		}); err != nil {
			t.Fatal(err)
		}
		// It registers over REST (its join token is fine) but its gossip
		// join fails, and the logs say why.
		poll.For(t, 15*time.Second, 20*time.Millisecond, func() error {
			if !strings.Contains(edgeLog.String(), "gossip join failed") || !strings.Contains(originLog.String(), "could decrypt") {
				return errors.New("no failed join logged yet")
			}
			return nil
		})
		for name, l := range map[string]string{"edge": edgeLog.String(), "origin": originLog.String()} {
			if !strings.Contains(l, "no installed keys could decrypt") {
				t.Errorf("%s log does not say the key is wrong:\n%s", name, truncErr(l))
			}
		}
		waitEdge(t, c, "edge-badkey", 10*time.Second, func(n api.NodeView) error {
			if n.Live != nil && n.Live.Gossip == "alive" {
				t.Fatalf("edge with a wrong key is alive in the origin's pool: %+v", *n.Live)
			}
			return nil
		})
	})

	t.Run("oversized metadata", func(t *testing.T) {
		long := strings.Repeat("x", 150) + ".example.net:443"
		_, err := c.StartEdge(testcluster.EdgeSpec{
			ID:        "edge-bigmeta",
			Advertise: edge.AdvertiseConfig{API: long, QUIC: long, WebRTC: long, WHIP: long},
		})
		if !errors.Is(err, gossip.ErrMetaTooLarge) {
			t.Fatalf("start = %v, want ErrMetaTooLarge", err)
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("limit %d", gossip.MetaMaxSize)) {
			t.Fatalf("error does not name the limit: %v", msg)
		}
		if _, ok := c.Edge("edge-bigmeta"); ok {
			t.Fatal("refused edge is tracked as running")
		}
	})
}
