package registry

import (
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the registry's Prometheus collectors, registered on the
// node's own registerer so several nodes can share a process.
type metrics struct {
	reg        prometheus.Registerer
	apply      prometheus.Histogram
	collectors []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer, r *Registry) (*metrics, error) {
	m := &metrics{reg: reg}
	m.apply = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "strata_registry_fsm_apply_seconds",
		Help:    "Time to apply one Raft log entry to the registry state machine.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
	})
	raftState := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_registry_raft_leader",
		Help: "1 if this origin is the Raft leader, else 0.",
	}, func() float64 {
		if r.raft != nil && r.raft.State() == raft.Leader {
			return 1
		}
		return 0
	})
	term := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_registry_raft_term",
		Help: "Current Raft term.",
	}, func() float64 {
		if r.raft == nil {
			return 0
		}
		return float64(r.raft.CurrentTerm())
	})
	commit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_registry_raft_commit_index",
		Help: "Highest Raft log index known committed.",
	}, func() float64 {
		if r.raft == nil {
			return 0
		}
		return float64(r.raft.CommitIndex())
	})
	applied := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_registry_applied_index",
		Help: "Highest Raft log index applied to the registry state.",
	}, func() float64 { return float64(r.state.Index()) })
	m.collectors = []prometheus.Collector{m.apply, raftState, term, commit, applied}
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, err
		}
	}
	return m, nil
}

// observeApply records a batch's apply time spread over its entries.
func (m *metrics) observeApply(d time.Duration, n int) {
	if n == 0 {
		return
	}
	per := d.Seconds() / float64(n)
	for i := 0; i < n; i++ {
		m.apply.Observe(per)
	}
}

func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
