package gossip

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are per Pool and registered on the Registerer given in Config,
// never the global one, so several pools can live in one process.
type metrics struct {
	packetsSent, packetsRecv         prometheus.Counter
	packetBytesSent, packetBytesRecv prometheus.Counter
	streamBytesSent, streamBytesRecv prometheus.Counter
	userMsgsSent, userMsgsRecv       prometheus.Counter
	userBytesSent, userBytesRecv     prometheus.Counter
	eventsDropped                    prometheus.Counter
	badMessages                      prometheus.Counter
	badPackets                       prometheus.Counter
	probeRTT                         prometheus.Histogram
	members                          *prometheus.GaugeVec
}

func newMetrics() *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_gossip_" + name, Help: help})
	}
	return &metrics{
		packetsSent:     c("packets_sent_total", "UDP gossip packets sent."),
		packetsRecv:     c("packets_received_total", "UDP gossip packets received."),
		packetBytesSent: c("packet_sent_bytes_total", "UDP gossip bytes sent."),
		packetBytesRecv: c("packet_received_bytes_total", "UDP gossip bytes received."),
		streamBytesSent: c("stream_sent_bytes_total", "TCP (push/pull, fallback ping) bytes sent."),
		streamBytesRecv: c("stream_received_bytes_total", "TCP (push/pull, fallback ping) bytes received."),
		userMsgsSent:    c("user_messages_sent_total", "Strata messages (loads) handed to gossip."),
		userMsgsRecv:    c("user_messages_received_total", "Strata messages (loads) received."),
		userBytesSent:   c("user_message_sent_bytes_total", "Bytes of Strata messages handed to gossip."),
		userBytesRecv:   c("user_message_received_bytes_total", "Bytes of Strata messages received."),
		eventsDropped:   c("events_dropped_total", "Membership events dropped because the consumer lagged."),
		badMessages:     c("bad_messages_total", "Undecodable Strata messages or metadata received."),
		badPackets:      c("bad_packets_total", "Gossip packets or streams memberlist could not decrypt or decode (logged at most once per kind per 10s)."),
		probeRTT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_gossip_probe_rtt_seconds",
			Help:    "Round-trip time of successful memberlist probes.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14), // 0.2 ms .. 1.6 s
		}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strata_gossip_members",
			Help: "Members known to this node, by state.",
		}, []string{"state"}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	if r == nil {
		return nil
	}
	cs := []prometheus.Collector{m.packetsSent, m.packetsRecv, m.packetBytesSent, m.packetBytesRecv,
		m.streamBytesSent, m.streamBytesRecv, m.userMsgsSent, m.userMsgsRecv, m.userBytesSent,
		m.userBytesRecv, m.eventsDropped, m.badMessages, m.badPackets, m.probeRTT, m.members}
	var errs []error
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: register metrics: %w", ErrBadConfig, err)
	}
	return nil
}

func (m *metrics) unregister(r prometheus.Registerer) {
	if r == nil {
		return
	}
	for _, c := range []prometheus.Collector{m.packetsSent, m.packetsRecv, m.packetBytesSent,
		m.packetBytesRecv, m.streamBytesSent, m.streamBytesRecv, m.userMsgsSent, m.userMsgsRecv,
		m.userBytesSent, m.userBytesRecv, m.eventsDropped, m.badMessages, m.badPackets, m.probeRTT, m.members} {
		r.Unregister(c)
	}
}
