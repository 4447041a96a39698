package gossip

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/internal/poll"
)

// gathered returns name{labels} -> value (histograms: sample count).
func gathered(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	nodes := cluster(t, 3, nil)
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error { return allSee(nodes, ids(nodes), StateAlive) })
	n := nodes[0]
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		m := gathered(t, n.reg)
		for _, name := range []string{"strata_gossip_packets_sent_total", "strata_gossip_packet_received_bytes_total",
			"strata_gossip_user_messages_received_total", "strata_gossip_probe_rtt_seconds",
			"strata_gossip_stream_sent_bytes_total"} {
			if m[name] == 0 {
				return fmt.Errorf("%s is 0", name)
			}
		}
		if m["strata_gossip_members{state=alive}"] != 3 {
			return errors.New("members{state=alive} != 3")
		}
		return nil
	})
	if err := n.Close(crashed()); err != nil {
		t.Fatal(err)
	}
	if m := gathered(t, n.reg); len(m) != 0 {
		t.Fatalf("metrics left registered after Shutdown: %v", m)
	}
}
