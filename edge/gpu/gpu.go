package gpu

import (
	"hash/fnv"
	"sort"
	"strconv"
)

// NotReported is the value of a numeric GPU field that nvidia-smi did not
// report ("[N/A]", "[Not Supported]"); it differs from a real 0.
const NotReported = -1

// GPU is one physical GPU as seen at discovery or sampling time.
type GPU struct {
	Index          int
	UUID           string
	Model          string
	MemoryTotalMB  int64
	MemoryUsedMB   int64
	UtilizationPct int // SM utilization, NotReported when unknown
	EncoderPct     int // NVENC utilization, NotReported when unknown
	DecoderPct     int // NVDEC utilization, NotReported when unknown
}

// Usage is the node-level summary of GPU load that edges gossip.
type Usage struct {
	Count          int
	UtilizationPct int   // mean of the reported GPUs, NotReported if none
	MemoryUsedMB   int64 // sum of the reported GPUs
	MemoryTotalMB  int64
}

// Summarize folds per-GPU samples into the node-level Usage gossiped as
// live load; GPUs that do not report a value are left out of the mean.
func Summarize(gpus []GPU) Usage {
	u := Usage{Count: len(gpus), UtilizationPct: NotReported}
	sum, n := 0, 0
	for _, g := range gpus {
		if g.UtilizationPct >= 0 {
			sum += g.UtilizationPct
			n++
		}
		if g.MemoryUsedMB > 0 {
			u.MemoryUsedMB += g.MemoryUsedMB
		}
		if g.MemoryTotalMB > 0 {
			u.MemoryTotalMB += g.MemoryTotalMB
		}
	}
	if n > 0 {
		u.UtilizationPct = sum / n
	}
	return u
}

// Digest is a short, order-independent hash of the GPU inventory (UUID,
// model, memory). It goes into gossip metadata so origins can notice that an
// edge's GPU list changed without gossiping the whole list.
func Digest(gpus []GPU) uint64 {
	keys := make([]string, 0, len(gpus))
	for _, g := range gpus {
		keys = append(keys, g.UUID+"|"+g.Model+"|"+strconv.FormatInt(g.MemoryTotalMB, 10))
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		_, _ = h.Write([]byte(k))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}
