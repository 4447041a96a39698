package relay

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Stats are the relay's live counters, for the edge's load reports.
type Stats struct {
	// EgressBytes is the total object bytes written to subscribers.
	EgressBytes uint64
	// Subscribers is the number of track subscriptions being served.
	Subscribers int64
	// Publishers is the number of namespaces ingested here.
	Publishers int
}

type metrics struct {
	egressBytes atomic.Uint64 // mirrors egress, readable without prometheus
	subs        atomic.Int64  // mirrors subscribers

	subscribers prometheus.Gauge
	egress      prometheus.Counter
	dropped     prometheus.Counter
	upstreams   prometheus.Gauge
	latency     prometheus.Histogram
	sessions    *prometheus.CounterVec // by negotiated version
}

// versionLabel bounds the sessions metric's version label to the
// versions this build speaks.
func versionLabel(v wire.Version) string {
	if slices.Contains(wire.SupportedVersions(), v) {
		return v.String()
	}
	return "other"
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "strata_edge_moq_subscribers",
			Help: "MoQ track subscriptions being served from this edge."}),
		egress: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_edge_moq_egress_bytes_total",
			Help: "Object bytes (headers and payload) written to MoQ subscribers."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_edge_moq_dropped_groups_total",
			Help: "Groups a slow MoQ subscriber skipped or had reset."}),
		upstreams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "strata_edge_moq_upstream_subscriptions",
			Help: "Track subscriptions this edge holds to other edges."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "strata_edge_moq_added_latency_seconds",
			Help:    "Capture time to send time of objects written to MoQ subscribers.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2}}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_edge_moq_sessions_total",
			Help: "MoQ sessions accepted by this edge, by negotiated MoQ Transport version."}, []string{"version"}),
	}
	for _, v := range wire.SupportedVersions() {
		m.sessions.WithLabelValues(versionLabel(v))
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.subscribers, m.egress, m.dropped, m.upstreams, m.latency, m.sessions} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
