package placement

import (
	"math"
	"slices"
)

// indexMinNodes is the fleet size from which Place scans through the geo
// index instead of every node. Below it a plain scan costs about as much
// as bounding the cells.
const indexMinNodes = 128

// indexSlack is added to every cell's bound on the dot product so rounding
// in the bound (a sqrt and a few products) can never make it smaller than
// a node's computed dot product. It is far below a bucket's width in dot
// product (~1e-4 near the requester), so it costs no pruning.
const indexSlack = 1e-9

// cellVisited marks a cell already scanned in a decision's bound array.
const cellVisited = -10.0

// geoIndex groups the nodes with a location into cells of nearby nodes,
// each bounded by a spherical cap (centre and angular radius), so Place
// can scan the cells nearest the requester first and skip every cell whose
// cap lies entirely beyond the best RTT bucket found: all its nodes are in
// a worse bucket and cannot win under any policy. The ranking is the full
// scan's, so the decision is identical; only nodes that were never
// examined are missing from the explanation's counts (Explanation.Skipped).
//
// Cells come from a latitude/longitude grid whose step doubles from 1°
// until there are at most about n/16 occupied cells, so a clustered fleet
// (edges in metros) keeps fine cells and a uniform one gets coarse ones.
// The grid only groups nodes; correctness rests on the caps, which are
// computed from the members' unit vectors, so poles and the antimeridian
// need no special case.
type geoIndex struct {
	cells   []geoCell
	members []int32 // node indices, cell by cell
	// unlocated are the nodes without a usable location: their RTT is never
	// geographic, so every indexed decision scans them.
	unlocated []int32
	// byDim lists the located nodes that have a Vivaldi coordinate, by its
	// dimensionality: for a requester with a coordinate of that size their
	// RTT is Vivaldi's, so they are scanned in full and skipped in cells.
	byDim map[uint8][]int32
	// byRegion lists the nodes of each interned region in node order, and
	// regionDown counts per region the nodes the first two filters reject
	// (not alive; alive but draining). A request constrained to regions
	// and without a location scans only their nodes and still counts the
	// others exactly: they fail not_alive, draining or region, in that
	// order. Apply and Release change neither state nor region.
	byRegion   [][]int32
	regionDown [][2]int32
}

// geoCell is one cell: the cap's centre (unit vector), cosine and sine of
// its angular radius, and its members' range in geoIndex.members.
type geoCell struct {
	x, y, z    float64
	cosR, sinR float64
	off, n     int32
}

// maxDot bounds from above the dot product between the unit vector
// (x, y, z) and any member of the cell: with θ the angle to the centre and
// R the radius, no member is closer than θ−R, so no dot product exceeds
// cos(max(0, θ−R)).
func (c *geoCell) maxDot(x, y, z float64) float64 {
	d := x*c.x + y*c.y + z*c.z
	if d >= c.cosR {
		return 2 // the requester is inside the cap
	}
	s := math.Sqrt(max(0, 1-d*d))
	return d*c.cosR + s*c.sinR + indexSlack
}

// buildIndex groups the snapshot's located nodes into cells.
func buildIndex(s *Snapshot, p *prepared) *geoIndex {
	ix := &geoIndex{byDim: map[uint8][]int32{}, byRegion: make([][]int32, len(p.regions)), regionDown: make([][2]int32, len(p.regions))}
	var located []int32
	for i := range p.nodes {
		np := &p.nodes[i]
		ix.byRegion[np.region] = append(ix.byRegion[np.region], int32(i))
		switch {
		case np.flags&flagAlive == 0:
			ix.regionDown[np.region][0]++
		case np.flags&flagEligible == 0:
			ix.regionDown[np.region][1]++
		}
		if np.flags&flagHasLoc == 0 {
			ix.unlocated = append(ix.unlocated, int32(i))
			continue
		}
		located = append(located, int32(i))
		if np.dim != 0 {
			ix.byDim[np.dim] = append(ix.byDim[np.dim], int32(i))
		}
	}
	if len(located) == 0 {
		return ix
	}
	limit := max(8, len(located)/16)
	keys := make([]int32, len(located))
	counts := map[int32]int32{}
	for step := 1.0; ; step *= 2 {
		clear(counts)
		for k, i := range located {
			l := s.Nodes[i].Location
			lat := int32(math.Floor((l.Lat + 90) / step))
			lon := int32(math.Floor((l.Lon + 180) / step))
			keys[k] = lat<<10 | lon // lon < 361, lat < 181
			counts[keys[k]]++
		}
		if len(counts) <= limit || step >= 256 {
			break
		}
	}
	// Cells in key order, members in node order within a cell (a counting
	// sort): a deterministic layout without sorting the nodes.
	cellKeys := make([]int32, 0, len(counts))
	for k := range counts {
		cellKeys = append(cellKeys, k)
	}
	slices.Sort(cellKeys)
	next := make(map[int32]int32, len(cellKeys)) // key → next free slot
	off := int32(0)
	for _, k := range cellKeys {
		next[k] = off
		off += counts[k]
	}
	ix.members = make([]int32, len(located))
	for k, i := range located {
		ix.members[next[keys[k]]] = i
		next[keys[k]]++
	}
	ix.cells = make([]geoCell, 0, len(cellKeys))
	off = 0
	for _, k := range cellKeys {
		n := counts[k]
		ix.cells = append(ix.cells, newCell(p, ix.members[off:off+n], off))
		off += n
	}
	return ix
}

// newCell bounds members with a cap around their normalised mean.
func newCell(p *prepared, members []int32, off int32) geoCell {
	var x, y, z float64
	for _, i := range members {
		np := &p.nodes[i]
		x, y, z = x+np.x, y+np.y, z+np.z
	}
	norm := math.Sqrt(x*x + y*y + z*z)
	if norm < 1e-6 { // members spread around the sphere: any centre works
		np := &p.nodes[members[0]]
		x, y, z, norm = np.x, np.y, np.z, 1
	}
	c := geoCell{x: x / norm, y: y / norm, z: z / norm, off: off, n: int32(len(members))}
	c.cosR = 1.0
	for _, i := range members {
		np := &p.nodes[i]
		c.cosR = min(c.cosR, c.x*np.x+c.y*np.y+c.z*np.z)
	}
	c.cosR = max(c.cosR-indexSlack, -1)
	c.sinR = math.Sqrt(max(0, 1-c.cosR*c.cosR))
	return c
}

// scanIndexed is scan through the geo index: first the nodes whose RTT is
// not geographic for this requester, then the cells nearest the requester
// by their bound, then every other cell whose bound still beats the best
// bucket found.
func (q *query) scanIndexed(snap *Snapshot, p *prepared, o *origin, st *scanState) {
	ix := p.index
	q.scanNodes(snap, p, o, nil, st, ix.unlocated, 0, len(ix.unlocated), 0)
	var skipDim uint8
	if o.dim != 0 {
		skipDim = o.dim
		l := ix.byDim[o.dim]
		q.scanNodes(snap, p, o, nil, st, l, 0, len(l), 0)
	}
	bounds := make([]float64, len(ix.cells))
	for c := range ix.cells {
		bounds[c] = ix.cells[c].maxDot(o.x, o.y, o.z)
	}
	scanCell := func(c int) {
		cell := &ix.cells[c]
		q.scanNodes(snap, p, o, nil, st, ix.members, int(cell.off), int(cell.off+cell.n), skipDim)
		bounds[c] = cellVisited
	}
	// Nearest first, until a best exists and a few cells were seen: that
	// best is then usually in the final bucket and prunes the rest.
	for k := 0; k < 16 && (k < 4 || st.pk.best < 0); k++ {
		best, top := -1, st.pruneDot
		for c, b := range bounds {
			if b > top {
				best, top = c, b
			}
		}
		if best < 0 {
			break
		}
		scanCell(best)
	}
	for c, b := range bounds {
		if b != cellVisited && b > st.pruneDot {
			scanCell(c)
		}
	}
}

// scanRegions is scan for a request constrained to regions: only their
// nodes go through the filters; every other node is counted under the
// first filter it fails (not_alive, draining, region) from the per-region
// counts, so the explanation is the full scan's.
func (q *query) scanRegions(snap *Snapshot, p *prepared, o *origin, st *scanState) {
	ix := p.index
	var down [2]int32
	for _, d := range ix.regionDown {
		down[0] += d[0]
		down[1] += d[1]
	}
	in := 0
	for k, r := range q.regions {
		if slices.Contains(q.regions[:k], r) {
			continue // listed twice
		}
		l := ix.byRegion[r]
		q.scanNodes(snap, p, o, nil, st, l, 0, len(l), 0)
		in += len(l)
		down[0] -= ix.regionDown[r][0]
		down[1] -= ix.regionDown[r][1]
	}
	st.rejected[FilterNotAlive] += int(down[0])
	st.rejected[FilterDraining] += int(down[1])
	st.rejected[FilterRegion] += len(p.nodes) - in - int(down[0]) - int(down[1])
}
