package gossip

import (
	"os"
	"strconv"
	"testing"
	"time"
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
	took := waitFor(t, 60*time.Second, func() string { return allSee(nodes, ids(nodes), StateAlive) })
	t.Logf("%d nodes converged alive in %v", n, took)

	// Load freshness: time until every node has a load set on one node.
	src := nodes[n/2]
	want := Load{EgressBps: 987654321, Viewers: 17, Sessions: 2, GPUUtilPct: 40, CPUPct: 30}
	src.SetLoad(want)
	took = waitFor(t, 10*time.Second, func() string {
		for _, x := range nodes {
			if m, _ := x.Member(src.ID()); m.Load != want {
				return x.ID() + " lacks the new load"
			}
		}
		return ""
	})
	t.Logf("load visible on all %d nodes %v after SetLoad (includes up to 1 s until the next broadcast tick)", n, took)

	// Failure detection: hard stop one node.
	victim := nodes[n-1]
	rest := nodes[:n-1]
	start := time.Now()
	if err := victim.Close(crashed()); err != nil {
		t.Fatal(err)
	}
	took = waitFor(t, 30*time.Second, func() string { return allSee(rest, []string{victim.ID()}, StateDead) })
	t.Logf("hard-stopped node dead on all %d others after %v", n-1, took)
	_ = start
}
