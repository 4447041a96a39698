package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hashicorp/serf/coordinate"
)

// Snapshot is the read-only world Place decides on: the nodes and the
// tenants' quotas and usage. The registry builds one from its FSM state; the
// tenant's quota lives here (not in the Request) so that Apply can account
// usage exactly like the FSM does and a sequence of decisions can be checked
// against quota without the caller threading usage through.
//
// Place prepares the snapshot lazily on first use; a snapshot shared by
// several goroutines must be prepared first with Prepare, after which Place
// and RouteViewer only read it. Changing Nodes other than through Apply or
// Release requires calling Prepare again.
type Snapshot struct {
	Nodes []Node
	// Tenants maps a tenant ID to its quota and current usage. A tenant
	// missing from the map has no quota (the registry is the place that
	// rejects unknown tenants).
	Tenants map[string]Tenant

	p *prepared
}

// Tenant is a tenant's quota and what it uses right now.
type Tenant struct {
	Quota Quota
	Usage Usage
}

// Quota limits a tenant across the whole fleet. A zero field means
// unlimited, following the project rule that a zero value means the default.
type Quota struct {
	MaxSessions   int
	MaxGPUs       int
	MaxEgressMbps int64
}

// Usage is what a tenant currently holds: placed sessions, GPUs (counted per
// device, shared or not) and reserved egress.
type Usage struct {
	Sessions   int
	GPUs       int
	EgressMbps int64
}

// violation returns which limit adding one session with gpus GPUs and
// egress Mbps would break, or "" when it fits.
func (q Quota) violation(u Usage, gpus int, egress int64) string {
	return QuotaViolation(
		Amounts{Sessions: int64(q.MaxSessions), GPUs: int64(q.MaxGPUs), EgressMbps: q.MaxEgressMbps},
		Amounts{Sessions: int64(u.Sessions), GPUs: int64(u.GPUs), EgressMbps: u.EgressMbps},
		Amounts{Sessions: 1, GPUs: int64(gpus), EgressMbps: egress})
}

// Amounts are what a tenant holds, what one more session adds, or a
// quota's limits (zero meaning unlimited), in the registry's int64 terms.
type Amounts struct {
	Sessions   int64
	GPUs       int64
	EgressMbps int64
}

// QuotaViolation is the one quota rule, used by the engine and by the
// registry's FSM alike: it returns which limit taking add on top of used
// would break, or "" when the result stays within limit. A zero limit is
// unlimited. The sums are checked: a total that would overflow breaks the
// limit, unlimited or not, instead of wrapping into a negative usage that
// would let everything after it in.
func QuotaViolation(limit, used, add Amounts) string {
	over := func(limit, used, add int64) (string, bool) {
		total, ok := checkedAdd(used, add)
		switch {
		case !ok:
			return fmt.Sprintf("%d+%d overflows", used, add), true
		case limit > 0 && total > limit:
			return fmt.Sprintf("%d+%d of %d", used, add, limit), true
		}
		return "", false
	}
	if _, bad := over(limit.Sessions, used.Sessions, add.Sessions); bad {
		return fmt.Sprintf("sessions %d of %d", used.Sessions, limit.Sessions)
	}
	if v, bad := over(limit.GPUs, used.GPUs, add.GPUs); bad {
		return "gpus " + v
	}
	if v, bad := over(limit.EgressMbps, used.EgressMbps, add.EgressMbps); bad {
		return "egress " + v + " Mbit/s"
	}
	return ""
}

// checkedAdd returns a+b and whether it did not overflow.
func checkedAdd(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

// AddUsage adds delta (negative to release) to a usage total, saturating
// at the int64 limits and clamping at zero, so no sequence of charges and
// releases can wrap a usage negative.
func AddUsage(total, delta int64) int64 {
	s, ok := checkedAdd(total, delta)
	if !ok {
		if delta > 0 {
			return math.MaxInt64
		}
		return 0
	}
	return max(s, 0)
}

// checkQuota returns ErrQuotaExceeded (wrapped) when tenant cannot take one
// more session of this size.
func (s *Snapshot) checkQuota(tenant string, gpus int, egress int64) error {
	t, ok := s.Tenants[tenant]
	if !ok {
		return nil
	}
	if v := t.Quota.violation(t.Usage, gpus, egress); v != "" {
		return fmt.Errorf("%w: tenant %q: %s", ErrQuotaExceeded, tenant, v)
	}
	return nil
}

// Node flags precomputed by Prepare.
const (
	flagEligible uint8 = 1 << iota // alive and not draining
	flagAlive                      // State == StateAlive
	flagHasLoc                     // valid Location
	flagUniform                    // all GPUs have the same memory
)

// nodePrep is the hot, cache-line-sized (64 bytes) view of one node that the
// filter and score loop reads for every node instead of Node (large, full
// of pointers); the rest lives in nodeCold. Capacities are int32 (clamped)
// to fit the line: 2 Pbit/s of NIC and 2 PB of GPU memory per node are
// far beyond any real edge.
type nodePrep struct {
	x, y, z    float64 // unit vector of Location when flagHasLoc
	egressFree int32   // NICMbps - max(reserved, fresh load)
	nicMbps    int32
	maxFreeMB  int32 // largest free memory on one GPU
	gpuTotalMB int32
	gpuFreeMB  int32
	gpuOff     int32 // first entry in prepared.gpus
	region     int32 // interned Region
	model      int32 // interned model of all GPUs; mixedModels otherwise
	gpuN       int16
	wholeFree  int16 // GPUs with nothing reserved
	flags      uint8
	dim        uint8 // Vivaldi dimensionality, 0 without a coordinate
	runtimes   uint8 // bit per interned runtime the node offers
}

// nodeCold is the rest of a node's prepared view.
type nodeCold struct {
	coord    *coordinate.Coordinate
	labelOff int32 // first entry in prepared.labels
	labelN   int32
	rank     int32 // position of ID in ascending ID order
}

// gpuPrep is one GPU in the flat per-snapshot GPU array. Each node's GPUs
// are stored in ascending Index order, which is the order GPUs are chosen in
// when several fit equally well.
type gpuPrep struct {
	memMB  int64
	freeMB int64
	model  int32
	slot   int32 // position in Node.GPUs
}

// labelID is one interned label pair.
type labelID struct{ key, value int32 }

// prepared holds everything Prepare derives from the nodes.
type prepared struct {
	n       int
	base    *Node // &Nodes[0] when prepared: detects a replaced Nodes slice
	nodes   []nodePrep
	cold    []nodeCold
	gpus    []gpuPrep
	labels  []labelID
	byID    map[string]int32
	keys    map[string]int32 // interned label keys
	values  map[string]int32 // interned label values
	regions map[string]int32
	models  map[string]int32
	// runtimes interns runtime names to a bit of nodePrep.runtimes; only
	// the first maxRuntimes names get one (there are three).
	runtimes map[string]uint8
	relayers map[string][]int32
	index    *geoIndex
}

// Prepare validates the snapshot and precomputes the flat arrays Place and
// RouteViewer read. It is O(n log n) and meant to run once per snapshot (or
// again after Nodes were changed other than by Apply/Release). It fails with
// ErrInvalidSnapshot on empty or duplicate node IDs and duplicate GPU
// indices, the only defects that would make decisions ambiguous; capacity
// numbers out of range are clamped instead.
func (s *Snapshot) Prepare() error {
	n := len(s.Nodes)
	p := &prepared{
		n:        n,
		nodes:    make([]nodePrep, n),
		cold:     make([]nodeCold, n),
		byID:     make(map[string]int32, n),
		regions:  make(map[string]int32),
		models:   make(map[string]int32),
		keys:     make(map[string]int32),
		values:   make(map[string]int32),
		runtimes: make(map[string]uint8),
		relayers: make(map[string][]int32),
	}
	total := 0
	for i := range s.Nodes {
		total += len(s.Nodes[i].GPUs)
	}
	p.gpus = make([]gpuPrep, total)
	// IDs sorted with their node index alongside: the comparisons read
	// the strings in place instead of chasing Nodes for every one.
	type idAt struct {
		id string
		i  int32
	}
	order := make([]idAt, n)
	off := int32(0)
	for i := range s.Nodes {
		nd := &s.Nodes[i]
		if nd.ID == "" {
			return fmt.Errorf("%w: node %d has an empty ID", ErrInvalidSnapshot, i)
		}
		if _, dup := p.byID[nd.ID]; dup {
			return fmt.Errorf("%w: duplicate node ID %q", ErrInvalidSnapshot, nd.ID)
		}
		for a := range nd.GPUs {
			for b := a + 1; b < len(nd.GPUs); b++ {
				if nd.GPUs[a].Index == nd.GPUs[b].Index {
					return fmt.Errorf("%w: node %q has GPU index %d twice", ErrInvalidSnapshot, nd.ID, nd.GPUs[a].Index)
				}
			}
		}
		p.byID[nd.ID] = int32(i)
		order[i] = idAt{nd.ID, int32(i)}
		if len(nd.GPUs) > math.MaxInt16 {
			return fmt.Errorf("%w: node %q has %d GPUs", ErrInvalidSnapshot, nd.ID, len(nd.GPUs))
		}
		np, nc := &p.nodes[i], &p.cold[i]
		np.gpuOff, np.gpuN = off, int16(len(nd.GPUs))
		off += int32(np.gpuN)
		np.region = intern(p.regions, nd.Region)
		nc.labelOff, nc.labelN = int32(len(p.labels)), int32(len(nd.Labels))
		for k, v := range nd.Labels { // order irrelevant: matching scans all
			p.labels = append(p.labels, labelID{intern(p.keys, k), intern(p.values, v)})
		}
		for _, rt := range nd.Runtimes {
			np.runtimes |= p.runtimeBit(rt)
		}
		seg := p.gpus[np.gpuOff : np.gpuOff+int32(np.gpuN)]
		for g := range nd.GPUs {
			seg[g] = gpuPrep{model: intern(p.models, nd.GPUs[g].Model), slot: int32(g)}
		}
		slices.SortFunc(seg, func(a, b gpuPrep) int { return cmp.Compare(nd.GPUs[a.slot].Index, nd.GPUs[b.slot].Index) })
		if x, y, z, ok := unitVector(nd.Location); ok {
			np.x, np.y, np.z = x, y, z
			np.flags |= flagHasLoc
		}
		if c := nd.Coordinate; c != nil && c.IsValid() && len(c.Vec) > 0 && len(c.Vec) <= math.MaxUint8 {
			nc.coord, np.dim = c, uint8(len(c.Vec))
		}
		for _, sid := range nd.Relaying {
			p.relayers[sid] = append(p.relayers[sid], int32(i))
		}
		p.refresh(s, i)
	}
	slices.SortFunc(order, func(a, b idAt) int { return strings.Compare(a.id, b.id) })
	for r, o := range order {
		p.cold[o.i].rank = int32(r)
	}
	if n > 0 {
		p.base = &s.Nodes[0]
	}
	p.index = buildIndex(s, p)
	s.p = p
	return nil
}

// refresh recomputes the mutable part of node i's prepared view: state and
// free capacity. Apply and Release call it after changing reservations.
func (p *prepared) refresh(s *Snapshot, i int) {
	nd := &s.Nodes[i]
	np := &p.nodes[i]
	np.flags &^= flagEligible | flagAlive
	if nd.State == StateAlive {
		np.flags |= flagAlive
		if !nd.Draining {
			np.flags |= flagEligible
		}
	}
	np.nicMbps = clamp32(nd.NICMbps)
	np.egressFree = clamp32(nd.NICMbps - nd.egressUsed())
	var total, free, maxFree int64
	np.wholeFree = 0
	np.flags |= flagUniform
	np.model = mixedModels
	if np.gpuN > 0 {
		np.model = p.gpus[np.gpuOff].model
	}
	for g := range nd.GPUs {
		gp := &p.gpus[int(np.gpuOff)+g]
		gp.memMB, gp.freeMB = gpuFree(&nd.GPUs[gp.slot])
		if gp.memMB != p.gpus[np.gpuOff].memMB {
			np.flags &^= flagUniform
		}
		if gp.model != np.model {
			np.model = mixedModels
		}
		total += gp.memMB
		free += gp.freeMB
		maxFree = max(maxFree, gp.freeMB)
		if gp.memMB > 0 && gp.freeMB == gp.memMB {
			np.wholeFree++
		}
	}
	np.gpuTotalMB, np.gpuFreeMB, np.maxFreeMB = clamp32(total), clamp32(free), clamp32(maxFree)
	if total > math.MaxInt32 {
		np.flags &^= flagUniform // gpuTotalMB/gpuN would not be a GPU's memory
	}
}

// clamp32 narrows v to int32, saturating.
func clamp32(v int64) int32 {
	return int32(min(max(v, math.MinInt32), math.MaxInt32))
}

// gpuFree returns a GPU's usable memory and free memory, clamped to sane
// ranges so corrupt numbers can only make a GPU look full, never overbook it.
func gpuFree(g *GPU) (memMB, freeMB int64) {
	memMB = max(g.MemoryMB, 0)
	freeMB = memMB - max(g.ReservedMB, 0)
	return memMB, min(max(freeMB, 0), memMB)
}

// intern returns the small integer for name, adding it when new, so the hot
// loop compares ints instead of strings.
func intern(m map[string]int32, name string) int32 {
	if id, ok := m[name]; ok {
		return id
	}
	id := int32(len(m))
	m[name] = id
	return id
}

// prepared returns the prepared view, preparing lazily when the snapshot
// was never prepared, or Nodes was resized or replaced since. Changes to
// the fields of existing nodes are not detected: call Prepare.
func (s *Snapshot) prepared() (*prepared, error) {
	if s.p != nil && s.p.n == len(s.Nodes) && (len(s.Nodes) == 0 || s.p.base == &s.Nodes[0]) {
		return s.p, nil
	}
	if err := s.Prepare(); err != nil {
		return nil, err
	}
	return s.p, nil
}

// NodeIndex returns the index in Nodes of the node with the given ID.
func (s *Snapshot) NodeIndex(id string) (int, bool) {
	p, err := s.prepared()
	if err != nil {
		return 0, false
	}
	i, ok := p.byID[id]
	return int(i), ok
}

// Clone returns a deep copy of the snapshot (nodes, their GPUs, labels,
// relaying lists and coordinates, and tenants) that Apply can mutate without
// touching the original — for tests, what-if planning, and registries whose
// FSM state shares slices with the snapshot.
func (s *Snapshot) Clone() *Snapshot {
	c := &Snapshot{Nodes: make([]Node, len(s.Nodes))}
	for i := range s.Nodes {
		n := s.Nodes[i]
		n.GPUs = slices.Clone(n.GPUs)
		n.Relaying = slices.Clone(n.Relaying)
		n.Runtimes = slices.Clone(n.Runtimes)
		if n.Labels != nil {
			l := make(map[string]string, len(n.Labels))
			for k, v := range n.Labels {
				l[k] = v
			}
			n.Labels = l
		}
		if n.Coordinate != nil {
			n.Coordinate = n.Coordinate.Clone()
		}
		c.Nodes[i] = n
	}
	if s.Tenants != nil {
		c.Tenants = make(map[string]Tenant, len(s.Tenants))
		for k, v := range s.Tenants {
			c.Tenants[k] = v
		}
	}
	return c
}

// validLocation reports whether l is a usable position.
func validLocation(l Location) bool {
	return l.Known && l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180 &&
		!math.IsNaN(l.Lat) && !math.IsNaN(l.Lon)
}

// maxRuntimes is how many runtime names nodePrep.runtimes has bits for.
const maxRuntimes = 8

// runtimeBit interns a runtime name; 0 when all bits are taken.
func (p *prepared) runtimeBit(name string) uint8 {
	if b, ok := p.runtimes[name]; ok {
		return b
	}
	if len(p.runtimes) >= maxRuntimes {
		return 0
	}
	b := uint8(1) << len(p.runtimes)
	p.runtimes[name] = b
	return b
}

// nodeLabels returns node i's interned labels.
func (p *prepared) nodeLabels(i int) []labelID {
	c := &p.cold[i]
	return p.labels[c.labelOff : c.labelOff+c.labelN]
}
