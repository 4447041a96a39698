package webrtc

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are registered on the Registerer the edge passes, never the
// global one, so several servers (tests, benches) can coexist.
type metrics struct {
	egressBytes atomic.Uint64 // mirrors egress for EgressBytes
	peers       *prometheus.GaugeVec
	egress      prometheus.Counter
	nacks       prometheus.Counter
	resent      prometheus.Counter
	plis        prometheus.Counter
	latency     prometheus.Histogram
	peerWHIP    prometheus.Gauge
	peerWHEP    prometheus.Gauge
	collected   []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strata_webrtc_peers", Help: "Live peer connections by kind (whip, whep).",
		}, []string{"kind"}),
		egress: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_webrtc_egress_bytes_total", Help: "RTP bytes handed to viewers' peer connections.",
		}),
		nacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_webrtc_nacks_total", Help: "NACK packets received from viewers.",
		}),
		resent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_webrtc_retransmitted_packets_total", Help: "RTP packets sent again to viewers that NACKed them.",
		}),
		plis: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_webrtc_plis_forwarded_total", Help: "Keyframe requests forwarded to publishers.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_webrtc_added_latency_seconds",
			Help:    "Time from a frame leaving the hub to its last RTP packet being handed to a viewer.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .03, .05, .1, .25, .5},
		}),
	}
	m.peerWHIP = m.peers.WithLabelValues("whip")
	m.peerWHEP = m.peers.WithLabelValues("whep")
	m.collected = []prometheus.Collector{m.peers, m.egress, m.nacks, m.resent, m.plis, m.latency}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collected {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collected[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) unregister(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for _, c := range m.collected {
		reg.Unregister(c)
	}
}
