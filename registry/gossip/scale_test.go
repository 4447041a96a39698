package gossip

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

// TestScaleLAN measures failure detection and load freshness with the LAN
// profile. It is opt-in because it runs many nodes in real time:
//
//	STRATA_GOSSIP_SCALE=50 go test -run TestScaleLAN -v ./registry/gossip/
func TestScaleLAN(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STRATA_GOSSIP_SCALE"))
	if n < 3 {
		t.Skip("set STRATA_GOSSIP_SCALE=N to run")
	}
	lan := func(c *Config) { c.Profile, c.LoadInterval = ProfileLAN, time.Second }
	nodes := cluster(t, n, lan)
	from := time.Now()
	poll.For(t, 60*time.Second, 10*time.Millisecond, func() error { return allSee(nodes, ids(nodes), StateAlive) })
	took := time.Since(from)
	t.Logf("%d nodes converged alive in %v", n, took)

	// Load freshness: time until every node has a load set on one node.
	src := nodes[n/2]
	want := Load{EgressBps: 987654321, Viewers: 17, Sessions: 2, GPUUtilPct: 40, CPUPct: 30}
	src.SetLoad(want)
	from = time.Now()
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		for _, x := range nodes {
			if m, _ := x.Member(src.ID()); m.Load != want {
				return fmt.Errorf("%s lacks the new load", x.ID())
			}
		}
		return nil
	})
	took = time.Since(from)
	t.Logf("load visible on all %d nodes %v after SetLoad (includes up to 1 s until the next broadcast tick)", n, took)

	// Failure detection: hard stop one node.
	victim := nodes[n-1]
	rest := nodes[:n-1]
	start := time.Now()
	if err := victim.Close(crashed()); err != nil {
		t.Fatal(err)
	}
	from = time.Now()
	poll.For(t, 30*time.Second, 10*time.Millisecond, func() error { return allSee(rest, []string{victim.ID()}, StateDead) })
	took = time.Since(from)
	t.Logf("hard-stopped node dead on all %d others after %v", n-1, took)
	_ = start
}
