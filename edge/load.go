package edge

import (
	"context"
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
