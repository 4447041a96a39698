package placement

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/serf/coordinate"
)

func TestGeoRTT(t *testing.T) {
	tests := []struct {
		name   string
		a, b   Location
		lo, hi float64
	}{
		{"same place", paris, paris, BaseRTTMs, BaseRTTMs + 1e-6},
		{"paris-frankfurt ~480 km", paris, frankfurt, 6.5, 7.1},
		{"paris-virginia ~6200 km", paris, virginia, 63, 65},
		{"antipodes", Location{Lat: 0, Lon: 0, Known: true}, Location{Lat: 0, Lon: 180, Known: true}, 202, 203},
		{"unknown", paris, Location{}, UnknownRTTMs, UnknownRTTMs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GeoRTTMs(tt.a, tt.b); got < tt.lo || got > tt.hi {
				t.Fatalf("GeoRTTMs = %.3f, want [%.1f, %.1f]", got, tt.lo, tt.hi)
			}
		})
	}
}

// TestGeoBucketMatchesRTT checks the dot-product bucket table against the
// RTT formula away from bucket edges.
func TestGeoBucketMatchesRTT(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 100000 {
		a := Location{Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180, Known: true}
		b := Location{Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180, Known: true}
		if r.IntN(2) == 0 {
			b.Lat, b.Lon = a.Lat+r.Float64()-0.5, min(max(a.Lon+r.Float64()-0.5, -180), 180)
			b.Lat = min(max(b.Lat, -90), 90)
		}
		ms := GeoRTTMs(a, b)
		frac := ms/RTTBucketMs - math.Floor(ms/RTTBucketMs)
		if frac < 1e-6 || frac > 1-1e-6 {
			continue
		}
		ax, ay, az, _ := unitVector(a)
		bx, by, bz, _ := unitVector(b)
		if got, want := geoBucket(ax*bx+ay*by+az*bz), bucketOf(ms); got != want {
			t.Fatalf("%v %v: geoBucket %d, bucketOf(%.6f) %d", a, b, got, ms, want)
		}
	}
}

func TestRTTSources(t *testing.T) {
	near := &coordinate.Coordinate{Vec: []float64{0.001, 0}}
	far := &coordinate.Coordinate{Vec: []float64{0.2, 0}}
	tests := []struct {
		name    string
		req     Requester
		mod     func(a, b *Node)
		want    string
		wantSrc RTTSource
	}{
		{"geo picks closer", at(frankfurt), nil, "b", RTTGeo},
		{"region when no location", Requester{Region: "eu-central"}, func(a, b *Node) { a.Location, b.Location = Location{}, Location{} }, "b", RTTRegion},
		{"region when requester has no location", Requester{Region: "eu-west"}, nil, "a", RTTRegion},
		{"geo beats region-only node", Requester{Location: frankfurt, Region: "eu-west"}, func(a, b *Node) { a.Location = Location{} }, "b", RTTGeo},
		{"vivaldi overrides geo", Requester{Location: frankfurt, Coordinate: &coordinate.Coordinate{Vec: []float64{0, 0}}},
			func(a, b *Node) { a.Coordinate, b.Coordinate = near, far }, "a", RTTVivaldi},
		{"vivaldi dims mismatch falls back", Requester{Location: frankfurt, Coordinate: &coordinate.Coordinate{Vec: []float64{0, 0, 0}}},
			func(a, b *Node) { a.Coordinate, b.Coordinate = near, far }, "b", RTTGeo},
		{"nothing known: ID decides", Requester{}, nil, "a", RTTUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := node("a", "eu-west", paris.Lat, paris.Lon), node("b", "eu-central", frankfurt.Lat, frankfurt.Lon)
			if tt.mod != nil {
				tt.mod(&a, &b)
			}
			d, err := Place(&Snapshot{Nodes: []Node{b, a}}, Request{Tenant: "t", GPUs: 1, Requester: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if d.NodeID != tt.want || d.Explanation.Winner.RTTSource != tt.wantSrc {
				t.Fatalf("chose %s via %s, want %s via %s", d.NodeID, d.Explanation.Winner.RTTSource, tt.want, tt.wantSrc)
			}
		})
	}
}

// TestPolicies places on a site of co-located nodes (same RTT bucket) with
// different fill levels.
func TestPolicies(t *testing.T) {
	mk := func(id string, reservedMB, reservedEgress int64) Node {
		n := node(id, "eu-west", paris.Lat, paris.Lon)
		n.GPUs[0].ReservedMB, n.GPUs[1].ReservedMB = reservedMB, reservedMB
		n.ReservedEgressMbps = reservedEgress
		return n
	}
	tests := []struct {
		name   string
		nodes  []Node
		policy Policy
		want   string
	}{
		{"spread picks emptiest", []Node{mk("full", 16000, 5000), mk("empty", 0, 0), mk("half", 8000, 2500)}, PolicySpread, "empty"},
		{"pack picks fullest that fits", []Node{mk("full", 16000, 5000), mk("empty", 0, 0), mk("half", 8000, 2500)}, PolicyPack, "full"},
		{"tie broken by ID", []Node{mk("c", 0, 0), mk("a", 0, 0), mk("b", 0, 0)}, PolicySpread, "a"},
		{"tie broken by ID under pack", []Node{mk("c", 0, 0), mk("b", 0, 0)}, PolicyPack, "b"},
		{"balance decides equal headroom", []Node{mk("nicidle", 10000, 0), mk("even", 10000, 4000)}, PolicySpread, "even"},
		{"distance beats policy", []Node{mk("near", 16000, 5000), func() Node {
			n := mk("far", 0, 0)
			n.Location = virginia
			return n
		}()}, PolicySpread, "near"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Place(&Snapshot{Nodes: tt.nodes}, Request{Tenant: "t", GPUs: 1, GPUMemoryMB: 4000, EgressMbps: 1000, Requester: at(paris), Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if d.NodeID != tt.want {
				t.Fatalf("chose %s (%+v), want %s", d.NodeID, d.Explanation.Winner, tt.want)
			}
			w := d.Explanation.Winner
			if d.Score != w.Total || w.Total != w.Within-2*float64(w.RTTBucket) || w.Within < 0 || w.Within > 1 {
				t.Fatalf("inconsistent score %+v", w)
			}
		})
	}
}

func TestGPUChoice(t *testing.T) {
	gpus := func(reserved ...int64) []GPU {
		gs := make([]GPU, len(reserved))
		for i, r := range reserved {
			gs[i] = GPU{Index: len(reserved) - 1 - i, Model: "L4", MemoryMB: 24000, ReservedMB: r} // listed in reverse index order
		}
		return gs
	}
	tests := []struct {
		name   string
		gpus   []GPU
		n      int
		mem    int64
		policy Policy
		want   []int
	}{
		// Indices are reversed: reserved[0] is index len-1.
		{"exclusive lowest free indices", gpus(0, 0, 5000, 0), 2, 0, PolicySpread, []int{0, 2}},
		{"pack best fit", gpus(0, 16000, 12000, 20000), 1, 4000, PolicyPack, []int{0}},
		{"spread most free", gpus(16000, 0, 12000, 0), 1, 4000, PolicySpread, []int{0}},
		{"spread two most free", gpus(16000, 1000, 12000, 0), 2, 4000, PolicySpread, []int{0, 2}},
		{"pack two best fit", gpus(16000, 1000, 12000, 0), 2, 4000, PolicyPack, []int{3, 1}},
		{"shared equal to memory is exclusive", gpus(0, 1, 0), 1, 24000, PolicyPack, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := node("a", "eu-west", paris.Lat, paris.Lon)
			n.GPUs = tt.gpus
			d, err := Place(&Snapshot{Nodes: []Node{n}}, Request{Tenant: "t", GPUs: tt.n, GPUMemoryMB: tt.mem, Policy: tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, sl := range d.Reservation.GPUs {
				got = append(got, sl.Index)
				if wantEx := tt.mem == 0 || tt.mem == 24000; sl.Exclusive != wantEx || tt.mem == 0 && sl.MemoryMB != 24000 {
					t.Fatalf("slice %+v", sl)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
