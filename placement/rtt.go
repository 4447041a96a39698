package placement

import (
	"math"

	"github.com/hashicorp/serf/coordinate"
)

// RTT model constants. They only need to rank nodes sensibly, not to predict
// a ping: light in fibre travels at about 2/3 c (~200 km/ms), and every path
// pays some fixed access latency.
const (
	// BaseRTTMs is the fixed last-mile and processing cost added to every
	// geographic estimate.
	BaseRTTMs = 2.0
	// FiberKmPerMs is the one-way speed of light in fibre (2/3 c).
	FiberKmPerMs = 199.86
	// EarthRadiusKm is the mean Earth radius.
	EarthRadiusKm = 6371.0
	// SameRegionRTTMs is assumed when only region names are known and match.
	SameRegionRTTMs = 10.0
	// OtherRegionRTTMs is assumed when only region names are known and differ.
	OtherRegionRTTMs = 100.0
	// UnknownRTTMs is assumed when nothing is known; it ranks such nodes
	// behind any node with a real estimate on the same continent or region.
	UnknownRTTMs = 250.0
	// RTTBucketMs is the granularity at which RTTs are compared: nodes whose
	// RTT falls in the same bucket are equally close (a few hundred km of
	// fibre, the same metro), and the policy decides among them.
	RTTBucketMs = 2.0
)

// rttPerRadian converts a central angle to round-trip milliseconds.
const rttPerRadian = 2 * EarthRadiusKm / FiberKmPerMs

// unitVector converts a location to a point on the unit sphere, so distance
// needs one dot product and one acos instead of haversine's trig per node.
func unitVector(l Location) (x, y, z float64, ok bool) {
	if !validLocation(l) {
		return 0, 0, 0, false
	}
	lat, lon := l.Lat*math.Pi/180, l.Lon*math.Pi/180
	cl := math.Cos(lat)
	return cl * math.Cos(lon), cl * math.Sin(lon), math.Sin(lat), true
}

// geoRTTMs turns the dot product of two unit vectors into an RTT estimate.
func geoRTTMs(dot float64) float64 {
	dot = min(max(dot, -1), 1)
	return BaseRTTMs + rttPerRadian*math.Acos(dot)
}

// GeoRTTMs estimates the RTT between two known locations with the engine's
// model; exported so callers and tests can reason about decisions. It
// returns UnknownRTTMs when either location is unusable.
func GeoRTTMs(a, b Location) float64 {
	ax, ay, az, ok1 := unitVector(a)
	bx, by, bz, ok2 := unitVector(b)
	if !ok1 || !ok2 {
		return UnknownRTTMs
	}
	return geoRTTMs(ax*bx + ay*by + az*bz)
}

// vivaldiRTTMs is coordinate.DistanceTo without its allocations (it builds a
// difference vector per call), in milliseconds.
func vivaldiRTTMs(a, b *coordinate.Coordinate) float64 {
	sum := 0.0
	for i := range a.Vec {
		d := a.Vec[i] - b.Vec[i]
		sum += d * d
	}
	dist := math.Sqrt(sum) + a.Height + b.Height
	if adj := dist + a.Adjustment + b.Adjustment; adj > 0 {
		dist = adj
	}
	return dist * 1000
}

// origin is a Requester compiled against a prepared snapshot.
type origin struct {
	x, y, z   float64
	hasLoc    bool
	hasRegion bool
	region    int32
	coord     *coordinate.Coordinate
	dim       uint8 // len(coord.Vec); 0 without a usable coordinate
}

func newOrigin(p *prepared, r *Requester) origin {
	var o origin
	o.x, o.y, o.z, o.hasLoc = unitVector(r.Location)
	if r.Region != "" {
		o.hasRegion = true
		o.region = -1
		if id, ok := p.regions[r.Region]; ok {
			o.region = id
		}
	}
	if c := r.Coordinate; c != nil && len(c.Vec) > 0 && len(c.Vec) <= math.MaxUint8 {
		o.coord, o.dim = c, uint8(len(c.Vec))
	}
	return o
}

// useVivaldi reports whether both ends have compatible coordinates.
func (o *origin) useVivaldi(np *nodePrep) bool {
	return o.dim != 0 && np.dim == o.dim
}

// useGeo reports whether the geographic model applies to np.
func (o *origin) useGeo(np *nodePrep) bool {
	return o.hasLoc && np.flags&flagHasLoc != 0 && !o.useVivaldi(np)
}

// rtt estimates the RTT from the requester to np with the most precise
// information both ends have.
func (o *origin) rtt(p *prepared, i int) (float64, RTTSource) {
	np := &p.nodes[i]
	switch {
	case o.useVivaldi(np):
		return vivaldiRTTMs(o.coord, p.cold[i].coord), RTTVivaldi
	case o.hasLoc && np.flags&flagHasLoc != 0:
		return geoRTTMs(o.x*np.x + o.y*np.y + o.z*np.z), RTTGeo
	case o.hasRegion && np.region == o.region:
		return SameRegionRTTMs, RTTRegion
	case o.hasRegion:
		return OtherRegionRTTMs, RTTRegion
	default:
		return UnknownRTTMs, RTTUnknown
	}
}

// bucketOf maps an RTT to its comparison bucket.
func bucketOf(ms float64) int {
	return int(math.Floor(ms / RTTBucketMs))
}

// geoEdges[b] is the cosine of the central angle at which the geographic
// RTT reaches b·RTTBucketMs, so bucket b holds dot products in
// (geoEdges[b+1], geoEdges[b]]. Comparing dot products against this table
// ranks nodes by geographic bucket without an acos per node; the table
// defines geographic buckets, so ranking is exactly consistent everywhere.
var geoEdges = func() []float64 {
	var edges []float64
	for b := 0; ; b++ {
		theta := (float64(b)*RTTBucketMs - BaseRTTMs) / rttPerRadian
		switch {
		case theta <= 0:
			edges = append(edges, 2)
		case theta >= math.Pi:
			return append(edges, -2)
		default:
			edges = append(edges, math.Cos(theta))
		}
	}
}()

// geoBucket returns the bucket of a dot product: the b with
// geoEdges[b+1] < dot <= geoEdges[b], by binary search.
func geoBucket(dot float64) int {
	lo, hi := 0, len(geoEdges)-1 // invariant: geoEdges[lo] >= dot > geoEdges[hi]
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if geoEdges[mid] >= dot {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// bucket returns the node's RTT bucket from the requester; geographic
// buckets come from the edge table, others from the estimate.
func (o *origin) bucket(p *prepared, i int) int {
	np := &p.nodes[i]
	if o.useGeo(np) {
		return geoBucket(o.x*np.x + o.y*np.y + o.z*np.z)
	}
	ms, _ := o.rtt(p, i)
	return bucketOf(ms)
}
