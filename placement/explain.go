package placement

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Filter names the first filter that rejected a node. The names returned by
// String (and used in JSON) are stable API: dashboards and tenants see them.
type Filter uint8

// Filters in the order Place applies them; a node is reported under the
// first one it fails. filterPass (zero) means the node passed all of them.
const (
	filterPass         Filter = iota
	FilterNotAlive            // "not_alive": state is not alive
	FilterDraining            // "draining": node is draining
	FilterRegion              // "region": not in Request.Regions
	FilterLabels              // "labels": a Request.Labels pair is missing
	FilterAntiAffinity        // "anti_affinity": listed in Request.AvoidNodes
	FilterNICHeadroom         // "nic_headroom": free egress < requested
	FilterGPUModel            // "gpu_model": no GPU of the requested model
	FilterGPUCount            // "gpu_count": fewer matching GPUs than requested
	FilterGPUMemory           // "gpu_memory": not enough GPUs with free memory
	FilterQuota               // "tenant_quota": the tenant's quota is exhausted
	FilterRuntime             // "runtime": the node does not offer Request.Runtime
	NumFilters                // number of Filter values, for FilterCounts
)

var filterNames = [NumFilters]string{
	"pass", "not_alive", "draining", "region", "labels", "anti_affinity",
	"nic_headroom", "gpu_model", "gpu_count", "gpu_memory", "tenant_quota", "runtime",
}

// String returns the stable name of the filter.
func (f Filter) String() string {
	if f < NumFilters {
		return filterNames[f]
	}
	return "filter(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText encodes the filter as its stable name.
func (f Filter) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// FilterCounts counts rejected nodes per filter, indexed by Filter. It
// encodes to JSON as an object of the non-zero counts keyed by filter name.
type FilterCounts [NumFilters]int

// MarshalJSON encodes the non-zero counts keyed by stable filter name.
func (c FilterCounts) MarshalJSON() ([]byte, error) {
	m := make(map[string]int)
	for f, n := range c {
		if n > 0 {
			m[Filter(f).String()] = n
		}
	}
	return json.Marshal(m)
}

// Rejection is one node and the filter that rejected it.
type Rejection struct {
	NodeID string `json:"node"`
	Filter Filter `json:"filter"`
}

// Explanation says why a decision came out as it did: how many nodes were
// looked at, how many each filter rejected, optionally which ones, and how
// the winner scored.
type Explanation struct {
	// Considered is how many nodes went through the filters; Skipped how
	// many were never examined because the geo index showed them to be
	// farther than the winner's RTT bucket (they could not have won).
	// Skipped is 0 when nothing was placed and with Request.Explain, so
	// the counts cover every node whenever someone needs to know why.
	Considered int          `json:"considered"`
	Skipped    int          `json:"skipped,omitempty"`
	Feasible   int          `json:"feasible"`
	Rejected   FilterCounts `json:"rejected"`
	// Rejections is filled only when Request.Explain is set, in node order.
	Rejections []Rejection `json:"rejections,omitempty"`
	// Winner is the chosen node's score breakdown (zero when none).
	Winner Score `json:"winner"`
}

// RejectedByName returns the non-zero per-filter counts keyed by stable
// filter name, for JSON APIs and logs.
func (e *Explanation) RejectedByName() map[string]int {
	m := make(map[string]int)
	for f, c := range e.Rejected {
		if c > 0 {
			m[Filter(f).String()] = c
		}
	}
	return m
}

// Summary renders the counts on one line in filter order, e.g.
// "considered 10, feasible 0, gpu_memory 7, draining 3".
func (e *Explanation) Summary() string {
	var b strings.Builder
	b.WriteString("considered ")
	b.WriteString(strconv.Itoa(e.Considered))
	b.WriteString(", feasible ")
	b.WriteString(strconv.Itoa(e.Feasible))
	if e.Skipped > 0 {
		b.WriteString(", skipped ")
		b.WriteString(strconv.Itoa(e.Skipped))
	}
	for f := FilterNotAlive; f < NumFilters; f++ {
		if c := e.Rejected[f]; c > 0 {
			b.WriteString(", ")
			b.WriteString(f.String())
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(c))
		}
	}
	return b.String()
}
