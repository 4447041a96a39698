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

// publishLoad samples media, GPU and CPU load every LoadInterval and sets
// it as the load the next gossip broadcast carries, until ctx ends.
func (e *Edge) publishLoad(ctx context.Context) {
	t := time.NewTicker(e.cfg.LoadInterval)
	defer t.Stop()
	for {
		e.pool.SetLoad(e.currentLoad())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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
