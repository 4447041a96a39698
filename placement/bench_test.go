package placement

import (
	"math/rand/v2"
	"testing"
)

// benchPlace measures Place over a random snapshot of n nodes with a cycle
// of 1024 random requests, without applying decisions so the fleet does
// not fill up during the run.
func benchPlace(b *testing.B, n int) {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	s := genSnapshot(r, n)
	if err := s.Prepare(); err != nil {
		b.Fatal(err)
	}
	reqs := make([]Request, 1024)
	for i := range reqs {
		reqs[i] = genRequest(r, s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, _ = Place(s, reqs[i%len(reqs)])
	}
}

func BenchmarkPlace1k(b *testing.B)  { benchPlace(b, 1000) }
func BenchmarkPlace10k(b *testing.B) { benchPlace(b, 10000) }

func BenchmarkRouteViewer10k(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	s := genSnapshot(r, 10000)
	if err := s.Prepare(); err != nil {
		b.Fatal(err)
	}
	reqs := make([]ViewerRequest, 1024)
	for i := range reqs {
		g := genRequest(r, s)
		reqs[i] = ViewerRequest{
			SessionID:    "s" + string(rune('0'+r.IntN(5))),
			IngestNodeID: s.Nodes[r.IntN(len(s.Nodes))].ID,
			BitrateMbps:  int64(2 + r.IntN(20)),
			Viewer:       g.Requester,
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, _ = RouteViewer(s, reqs[i%len(reqs)])
	}
}

// BenchmarkPrepare10k is the per-snapshot cost the leader pays before
// deciding (flat arrays and the geo index).
func BenchmarkPrepare10k(b *testing.B) {
	s := genSnapshot(rand.New(rand.NewPCG(9, 10)), 10000)
	b.ReportAllocs()
	for b.Loop() {
		s.p = nil
		if err := s.Prepare(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaceRegionOnly10k: requests constrained to one region with no
// requester location (how the origin asks for a session created with a
// region only), through the region lists and through the full scan.
func BenchmarkPlaceRegionOnly10k(b *testing.B) {
	r := rand.New(rand.NewPCG(42, 10000))
	s := genSnapshot(r, 10000)
	if err := s.Prepare(); err != nil {
		b.Fatal(err)
	}
	reqs := make([]Request, 1024)
	for i := range reqs {
		reg := genRegions[r.IntN(len(genRegions))].name
		reqs[i] = Request{Tenant: "big", GPUs: 1, EgressMbps: int64(r.IntN(8000)), Requester: Requester{Region: reg}, Regions: []string{reg}}
	}
	for _, m := range []struct {
		name string
		mode scanMode
	}{{"regions", scanAuto}, {"full", scanFull}} {
		b.Run(m.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				_, _ = place(s, reqs[i%len(reqs)], m.mode)
			}
		})
	}
}
