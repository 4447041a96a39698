package placement

import "slices"

// Model IDs for a gpuQuery besides interned models.
const (
	anyModel     int32 = -1 // Request.GPUModel empty
	unknownModel int32 = -2 // no node has the requested model
)

// gpuQuery is the GPU part of a request compiled against a snapshot.
type gpuQuery struct {
	k     int32
	memMB int64 // per GPU; 0 = whole GPUs
	model int32
}

func newGPUQuery(p *prepared, r *Request) gpuQuery {
	q := gpuQuery{k: int32(r.GPUs), memMB: r.GPUMemoryMB, model: anyModel}
	if r.GPUModel != "" {
		q.model = unknownModel
		if id, ok := p.models[r.GPUModel]; ok {
			q.model = id
		}
	}
	return q
}

// fits reports whether g can take one slice of this request.
func (q *gpuQuery) fits(g *gpuPrep) bool {
	if q.memMB == 0 {
		return g.memMB > 0 && g.freeMB == g.memMB
	}
	return g.freeMB >= q.memMB
}

// check applies the GPU filters to a node and returns the first failing
// one (model, then count, then memory) or filterPass with the memory the
// session would reserve there. The per-node summary answers most nodes
// without touching their GPUs.
func (q *gpuQuery) check(p *prepared, np *nodePrep) (Filter, int64) {
	if q.k == 0 {
		return filterPass, 0
	}
	seg := p.gpus[np.gpuOff : np.gpuOff+np.gpuN]
	if q.model == anyModel {
		if np.gpuN < q.k {
			return FilterGPUCount, 0
		}
		if q.memMB > 0 && np.maxFreeMB < q.memMB || q.memMB == 0 && np.wholeFree < q.k {
			return FilterGPUMemory, 0
		}
	}
	var matched, fit int32
	var need int64
	for i := range seg {
		g := &seg[i]
		if q.model != anyModel && g.model != q.model {
			continue
		}
		matched++
		if fit < q.k && q.fits(g) {
			fit++
			if q.memMB == 0 {
				need += g.memMB
			}
		}
	}
	switch {
	case matched == 0:
		return FilterGPUModel, 0
	case matched < q.k:
		return FilterGPUCount, 0
	case fit < q.k:
		return FilterGPUMemory, 0
	}
	if q.memMB > 0 {
		need = int64(q.k) * q.memMB
	}
	return filterPass, need
}

// choose picks the exact GPUs on the winning node. Whole-GPU requests take
// the lowest fully free indices. Shared requests take the best fit (least
// free memory) under pack, so big holes stay available, and the most free
// memory under spread, so co-tenants of one GPU stay few; ties go to the
// lower index.
func (q *gpuQuery) choose(p *prepared, nd *Node, np *nodePrep, policy Policy) []GPUSlice {
	seg := p.gpus[np.gpuOff : np.gpuOff+np.gpuN]
	var buf [16]int32
	cand := buf[:0]
	for i := range seg {
		if (q.model == anyModel || seg[i].model == q.model) && q.fits(&seg[i]) {
			cand = append(cand, int32(i))
		}
	}
	if q.memMB > 0 {
		slices.SortStableFunc(cand, func(a, b int32) int {
			fa, fb := seg[a].freeMB, seg[b].freeMB
			if policy == PolicySpread {
				fa, fb = fb, fa
			}
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		})
	}
	out := make([]GPUSlice, 0, q.k)
	for _, c := range cand[:q.k] {
		g := &nd.GPUs[seg[c].slot]
		mem := q.memMB
		if mem == 0 {
			mem = seg[c].memMB
		}
		out = append(out, GPUSlice{Index: g.Index, UUID: g.UUID, MemoryMB: mem, Exclusive: mem == seg[c].memMB})
	}
	return out
}
