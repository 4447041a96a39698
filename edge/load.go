package edge

import (
	"context"
	"sync"
	"time"

	"github.com/strata-edge/strata/edge/gpu"
	"github.com/strata-edge/strata/registry/gossip"
)

// MediaLoad is the media plane's share of live load.
type MediaLoad struct {
	EgressBps uint64
	Viewers   uint32
	Sessions  uint32
}

// LoadSource reports the media plane's current load; it is called from
// the load goroutine once per LoadInterval and must not block.
type LoadSource func() MediaLoad

// mediaPoll is how often the media counters are read between full
// samples: a viewer joining or a session starting reaches the pool within
// this plus one gossip hop, while CPU and GPU are sampled every
// LoadInterval.
const mediaPoll = 200 * time.Millisecond

// publishLoad samples media, GPU and CPU load every LoadInterval, and the
// media counters every mediaPoll, and sets the result as the load gossip
// carries (the pool broadcasts material changes at once), until ctx ends.
func (e *Edge) publishLoad(ctx context.Context) {
	full := time.NewTicker(e.cfg.LoadInterval)
	defer full.Stop()
	poll := time.NewTicker(min(mediaPoll, e.cfg.LoadInterval))
	defer poll.Stop()
	cur := e.currentLoad()
	e.pool.SetLoad(cur)
	for {
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			cur = e.currentLoad()
		case <-poll.C:
			if e.loadSrc == nil {
				continue
			}
			m := e.loadSrc()
			cur.EgressBps, cur.Viewers, cur.Sessions = m.EgressBps, m.Viewers, m.Sessions
		}
		e.pool.SetLoad(cur)
	}
}

func (e *Edge) currentLoad() gossip.Load {
	var media MediaLoad
	if e.loadSrc != nil {
		media = e.loadSrc()
	}
	l := gossip.Load{
		EgressBps: media.EgressBps, Viewers: media.Viewers, Sessions: media.Sessions,
		GPUUtilPct: -1, CPUPct: e.cpu.percent(),
	}
	if gpus, at, _ := e.sampler.Latest(); !at.IsZero() && len(gpus) > 0 {
		u := gpu.Summarize(gpus)
		if u.UtilizationPct != gpu.NotReported {
			l.GPUUtilPct = u.UtilizationPct
		}
		l.GPUMemUsedMB = uint64(max(u.MemoryUsedMB, 0))
	}
	return l
}

// egressMeter turns the media plane's running egress byte count into
// bit/s between two reads.
type egressMeter struct {
	mu        sync.Mutex // guards lastBytes and lastAt
	lastBytes uint64
	lastAt    time.Time
}

// rate is the bit rate from the previous read to this one (0 on the
// first read, or if the count went backwards).
func (e *egressMeter) rate(total uint64, now time.Time) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var bps uint64
	if !e.lastAt.IsZero() && now.After(e.lastAt) && total >= e.lastBytes {
		bps = uint64(float64(total-e.lastBytes) * 8 / now.Sub(e.lastAt).Seconds())
	}
	e.lastBytes, e.lastAt = total, now
	return bps
}

// load is the media plane's LoadSource: egress bit/s since the last call,
// live viewers and ingested sessions over MoQ and WebRTC.
func (m *mediaServer) load() MediaLoad {
	st := m.relay.Stats()
	total := st.EgressBytes
	viewers := st.Subscribers
	sessions := int64(st.Publishers)
	if m.rtc != nil {
		total += m.rtc.EgressBytes()
		pubs, views := m.rtc.Counts()
		viewers += int64(views)
		sessions += int64(pubs)
	}
	bps := m.egress.rate(total, time.Now())
	return MediaLoad{EgressBps: bps, Viewers: uint32(max(viewers, 0)), Sessions: uint32(max(sessions, 0))}
}
