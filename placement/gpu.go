package placement

import "slices"

// Model IDs for a gpuQuery besides interned models.
const (
	anyModel     int32 = -1 // Request.GPUModel empty
	unknownModel int32 = -2 // no node has the requested model
	mixedModels  int32 = -3 // nodePrep.model of a node with several models
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

// check applies the GPU filters to node i and returns the first failing
// one (model, then count, then memory) or filterPass with the memory the
// session would reserve there. Without a model constraint the per-node
// summary answers most nodes without touching their GPUs.
func (q *gpuQuery) check(p *prepared, i int) (Filter, int64) {
	if q.k == 0 {
		return filterPass, 0
	}
	np := &p.nodes[i]
	if q.model != anyModel && np.model != mixedModels {
		if np.model != q.model || np.gpuN == 0 {
			return FilterGPUModel, 0
		}
	}
	if q.model == anyModel || np.model == q.model {
		switch {
		case int32(np.gpuN) < q.k:
			return FilterGPUCount, 0
		case q.memMB > 0 && int64(np.maxFreeMB) < q.memMB, q.memMB == 0 && int32(np.wholeFree) < q.k:
			return FilterGPUMemory, 0
		case q.memMB > 0 && q.k == 1:
			return filterPass, q.memMB // the largest free GPU fits
		case q.memMB == 0 && np.flags&flagUniform != 0:
			// Every GPU has gpuTotalMB/gpuN; no need to touch the GPU array.
			return filterPass, int64(q.k) * (int64(np.gpuTotalMB) / int64(np.gpuN))
		}
	}
	seg := p.gpus[np.gpuOff : np.gpuOff+int32(np.gpuN)]
	var matched, fit int32
	var need int64
	for g := range seg {
		gp := &seg[g]
		if q.model != anyModel && gp.model != q.model {
			continue
		}
		matched++
		if fit < q.k && q.fits(gp) {
			fit++
			if q.memMB == 0 {
				need += gp.memMB
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
func (q *gpuQuery) choose(p *prepared, nd *Node, i int, policy Policy) []GPUSlice {
	np := &p.nodes[i]
	seg := p.gpus[np.gpuOff : np.gpuOff+int32(np.gpuN)]
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
	if len(cand) < int(q.k) {
		return nil // unreachable while check and choose agree; Place reports it
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
