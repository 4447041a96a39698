package bench

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/transport/media"
)

// benchRelay is one in-process relay of a fan-out run with its own
// metrics registry and loopback UDP socket.
type benchRelay struct {
	r   *relay.Relay
	pc  net.PacketConn
	reg *prometheus.Registry
}

// benchIdentities makes a cluster CA and an edge certificate from it for
// each of nodes.
func benchIdentities(nodes ...string) ([]*pki.Holder, error) {
	ca, err := pki.NewCA("bench", time.Now())
	if err != nil {
		return nil, err
	}
	var out []*pki.Holder
	for _, n := range nodes {
		certPEM, keyPEM, err := pki.IssueLocal(ca, pki.Identity{Role: pki.RoleEdge, NodeID: n}, nil, time.Hour)
		if err != nil {
			return nil, err
		}
		h, err := pki.NewHolder(ca.Cert, certPEM, keyPEM)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func startBenchRelay(cfg relay.Config, deps relay.Deps, srvTLS *tls.Config) (*benchRelay, error) {
	reg := prometheus.NewRegistry()
	deps.Registerer = reg
	deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := relay.New(cfg, deps)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		_ = r.Close(context.Background())
		return nil, err
	}
	if err := r.Listen(pc, srvTLS, nil); err != nil {
		_ = r.Close(context.Background())
		_ = pc.Close()
		return nil, err
	}
	return &benchRelay{r: r, pc: pc, reg: reg}, nil
}

func (b *benchRelay) close() {
	_ = b.r.Close(context.Background())
	_ = b.pc.Close()
}

// hopProbe reads a track in the hub of the relay one hop from the
// publisher and records, while measuring, how long after capture each
// object reached that hub: the latency the hop adds.
type hopProbe struct {
	on     atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	lat    []float64 // ms, sorted once stopped; owned by run until done
}

// startHopProbe subscribes through hub, which pulls the track upstream,
// and returns once the upstream subscription exists.
func startHopProbe(ctx context.Context, hub *media.Hub, ns media.Namespace, track string) (*hopProbe, error) {
	sub, err := hub.Subscribe(ctx, ns, track)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &hopProbe{cancel: cancel, done: make(chan struct{})}
	go p.run(pctx, sub) // owned by p: stop ends it
	return p, nil
}

func (p *hopProbe) run(ctx context.Context, sub *media.Subscription) {
	defer close(p.done)
	defer sub.Close()
	for {
		o, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if p.on.Load() && o.CaptureMicros > 0 {
			p.lat = append(p.lat, float64(time.Now().UnixMicro()-o.CaptureMicros)/1000)
		}
	}
}

// measure starts or stops recording; a nil probe ignores it.
func (p *hopProbe) measure(on bool) {
	if p != nil {
		p.on.Store(on)
	}
}

// stop ends the probe and returns its sorted latencies in ms.
func (p *hopProbe) stop() []float64 {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		slices.Sort(p.lat)
	})
	return p.lat
}

// histogram is a snapshot of a Prometheus histogram's cumulative buckets.
type histogram struct {
	upper  []float64 // bucket upper bounds, ascending, +Inf excluded
	counts []uint64  // cumulative counts per bound
	total  uint64
}

// histogramOf reads the named histogram from reg; empty if absent.
func histogramOf(reg *prometheus.Registry, name string) histogram {
	mfs, err := reg.Gather()
	if err != nil {
		return histogram{}
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.Metric) == 0 || mf.Metric[0].Histogram == nil {
			continue
		}
		h := mf.Metric[0].Histogram
		var s histogram
		for _, b := range h.Bucket {
			s.upper = append(s.upper, b.GetUpperBound())
			s.counts = append(s.counts, b.GetCumulativeCount())
		}
		s.total = h.GetSampleCount()
		return s
	}
	return histogram{}
}

// quantileSince estimates quantile q of the observations made between
// before and h, interpolating linearly inside the bucket that holds it;
// beyond the last bound it returns that bound.
func (h histogram) quantileSince(before histogram, q float64) float64 {
	total := h.total - before.total
	if total == 0 || len(h.upper) == 0 {
		return 0
	}
	rank := q * float64(total)
	var prevCount, prevUpper float64
	for i, up := range h.upper {
		c := float64(h.counts[i])
		if i < len(before.counts) {
			c -= float64(before.counts[i])
		}
		if c >= rank {
			if c == prevCount {
				return up
			}
			return prevUpper + (up-prevUpper)*(rank-prevCount)/(c-prevCount)
		}
		prevCount, prevUpper = c, up
	}
	return h.upper[len(h.upper)-1]
}
