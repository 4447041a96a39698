package placement

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/serf/coordinate"
)

// gpuN returns n idle GPUs of one model.
func gpuN(n int, model string, memMB int64) []GPU {
	gs := make([]GPU, n)
	for i := range gs {
		gs[i] = GPU{Index: i, UUID: "GPU-" + strconv.Itoa(i), Model: model, MemoryMB: memMB}
	}
	return gs
}

// node returns an alive node with 2 idle 24 GB L4s and a 10 Gbit/s NIC at
// the given location.
func node(id, region string, lat, lon float64) Node {
	return Node{
		ID: id, Region: region, State: StateAlive,
		Location: Location{Lat: lat, Lon: lon, Known: true},
		GPUs:     gpuN(2, "L4", 24000),
		NICMbps:  10000,
	}
}

// Well-known places for table tests.
var (
	paris     = Location{Lat: 48.86, Lon: 2.35, Known: true}
	frankfurt = Location{Lat: 50.11, Lon: 8.68, Known: true}
	virginia  = Location{Lat: 38.9, Lon: -77.0, Known: true}
	tokyo     = Location{Lat: 35.68, Lon: 139.69, Known: true}
)

func at(l Location) Requester { return Requester{Location: l} }

// genRegions are the regions random snapshots draw from.
var genRegions = []struct {
	name     string
	lat, lon float64
}{
	{"eu-west", 48.8, 2.3}, {"eu-central", 50.1, 8.7}, {"us-east", 38.9, -77.0},
	{"us-west", 37.4, -122.1}, {"ap-northeast", 35.7, 139.7}, {"sa-east", -23.5, -46.6},
}

var genModels = []struct {
	name string
	mem  int64
}{{"L4", 24000}, {"A100", 80000}, {"T4", 16000}}

// genSnapshot builds a random snapshot exercising every filter: dead,
// suspect and draining nodes, unknown locations, labels, mixed GPU models,
// partial reservations, fresh and stale load, Vivaldi coordinates, relaying
// lists and tenant quotas.
func genSnapshot(r *rand.Rand, n int) *Snapshot {
	s := &Snapshot{Nodes: make([]Node, n), Tenants: map[string]Tenant{
		"small": {Quota: Quota{MaxSessions: 5, MaxGPUs: 6, MaxEgressMbps: 40000}},
		"big":   {},
	}}
	for i := range s.Nodes {
		reg := genRegions[r.IntN(len(genRegions))]
		nd := Node{
			ID:     "n" + strconv.Itoa(r.IntN(n*10)) + "-" + strconv.Itoa(i),
			Region: reg.name,
			Zone:   reg.name + string(rune('a'+r.IntN(3))),
			State:  StateAlive,
			Labels: map[string]string{"tier": []string{"gold", "silver"}[r.IntN(2)]},
		}
		switch r.IntN(12) {
		case 0:
			nd.State = StateDead
		case 1:
			nd.State = StateSuspect
		case 2:
			nd.Draining = true
		}
		if r.IntN(8) != 0 {
			// Sites: a third of nodes share their region's exact coordinates.
			jitter := 0.0
			if r.IntN(3) != 0 {
				jitter = 3
			}
			nd.Location = Location{Lat: reg.lat + (r.Float64()-0.5)*jitter, Lon: reg.lon + (r.Float64()-0.5)*jitter, Known: true}
		}
		m := genModels[r.IntN(len(genModels))]
		ng := r.IntN(5)
		nd.GPUs = make([]GPU, ng)
		for g := range nd.GPUs {
			nd.GPUs[g] = GPU{Index: ng - 1 - g, UUID: "u" + strconv.Itoa(g), Model: m.name, MemoryMB: m.mem}
			switch r.IntN(4) {
			case 0:
				nd.GPUs[g].ReservedMB, nd.GPUs[g].Sessions = m.mem, 1
			case 1:
				nd.GPUs[g].ReservedMB, nd.GPUs[g].Sessions = int64(r.IntN(int(m.mem/1000)))*1000, 1
			}
		}
		nd.NICMbps = int64(1+r.IntN(4)) * 10000
		nd.ReservedEgressMbps = int64(r.IntN(int(nd.NICMbps)))
		nd.Load = Load{EgressMbps: int64(r.IntN(int(nd.NICMbps) + 1)), Age: time.Duration(r.IntN(10)) * time.Second}
		if r.IntN(4) == 0 {
			nd.Coordinate = &coordinate.Coordinate{Vec: []float64{r.Float64() * 0.05, r.Float64() * 0.05}, Height: 0.001}
		}
		nd.Revision = uint64(r.IntN(100))
		if r.IntN(3) == 0 {
			nd.Relaying = []string{"s" + strconv.Itoa(r.IntN(5))}
		}
		s.Nodes[i] = nd
	}
	return s
}

// genRequest builds a random valid request against genSnapshot's world.
func genRequest(r *rand.Rand, s *Snapshot) Request {
	m := genModels[r.IntN(len(genModels))]
	req := Request{
		Tenant:     []string{"small", "big", "other"}[r.IntN(3)],
		GPUs:       r.IntN(3),
		EgressMbps: int64(r.IntN(8000)),
		Policy:     Policy(r.IntN(2)),
	}
	if req.GPUs > 0 {
		if r.IntN(3) == 0 {
			req.GPUModel = m.name
		}
		switch r.IntN(3) {
		case 0:
			req.GPUMemoryMB = int64(1+r.IntN(24)) * 1000
		case 1:
			req.GPUMemoryMB = m.mem
		}
	}
	reg := genRegions[r.IntN(len(genRegions))]
	if r.IntN(6) != 0 {
		req.Requester.Location = Location{Lat: reg.lat + (r.Float64()-0.5)*20, Lon: reg.lon + (r.Float64()-0.5)*20, Known: true}
	}
	if r.IntN(2) == 0 {
		req.Requester.Region = reg.name
	}
	if r.IntN(6) == 0 {
		req.Requester.Coordinate = &coordinate.Coordinate{Vec: []float64{r.Float64() * 0.05, r.Float64() * 0.05}}
	}
	if r.IntN(5) == 0 {
		req.Regions = []string{genRegions[r.IntN(len(genRegions))].name, "nowhere"}
	}
	if r.IntN(5) == 0 {
		req.Labels = map[string]string{"tier": "gold"}
	}
	if r.IntN(4) == 0 && len(s.Nodes) > 0 {
		for range 1 + r.IntN(5) {
			req.AvoidNodes = append(req.AvoidNodes, s.Nodes[r.IntN(len(s.Nodes))].ID)
		}
	}
	return req
}

// refFilter is an independent, deliberately naive implementation of the
// filters, straight from the spec, to check Place against.
func refFilter(s *Snapshot, n *Node, req Request) Filter {
	if n.State != StateAlive {
		return FilterNotAlive
	}
	if n.Draining {
		return FilterDraining
	}
	if len(req.Regions) > 0 {
		found := false
		for _, r := range req.Regions {
			found = found || r == n.Region
		}
		if !found {
			return FilterRegion
		}
	}
	for k, v := range req.Labels {
		if got, ok := n.Labels[k]; !ok || got != v {
			return FilterLabels
		}
	}
	for _, id := range req.AvoidNodes {
		if id == n.ID {
			return FilterAntiAffinity
		}
	}
	used := n.ReservedEgressMbps
	if n.Load.Age < 5*time.Second && n.Load.EgressMbps > used {
		used = n.Load.EgressMbps
	}
	if n.NICMbps-used < req.EgressMbps {
		return FilterNICHeadroom
	}
	if req.GPUs == 0 {
		return filterPass
	}
	matched, fit := 0, 0
	for _, g := range n.GPUs {
		if req.GPUModel != "" && g.Model != req.GPUModel {
			continue
		}
		matched++
		free := g.MemoryMB - g.ReservedMB
		if req.GPUMemoryMB == 0 && g.ReservedMB == 0 && g.MemoryMB > 0 || req.GPUMemoryMB > 0 && free >= req.GPUMemoryMB {
			fit++
		}
	}
	switch {
	case matched == 0 && req.GPUModel != "":
		return FilterGPUModel
	case matched < req.GPUs:
		return FilterGPUCount
	case fit < req.GPUs:
		return FilterGPUMemory
	}
	return filterPass
}

// refRTT estimates RTT independently: serf's own DistanceTo for Vivaldi,
// haversine for geography, then region names.
func refRTT(n *Node, q Requester) float64 {
	if q.Coordinate != nil && n.Coordinate != nil && len(q.Coordinate.Vec) == len(n.Coordinate.Vec) {
		return float64(q.Coordinate.DistanceTo(n.Coordinate)) / float64(time.Millisecond)
	}
	if q.Location.Known && n.Location.Known {
		rad := math.Pi / 180
		dLat := (n.Location.Lat - q.Location.Lat) * rad
		dLon := (n.Location.Lon - q.Location.Lon) * rad
		h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(q.Location.Lat*rad)*math.Cos(n.Location.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
		km := 2 * 6371 * math.Asin(math.Sqrt(h))
		return 2 + 2*km/199.86
	}
	if q.Region != "" {
		if q.Region == n.Region {
			return 10
		}
		return 100
	}
	return 250
}

// TestNodePrepFitsACacheLine guards the hot loop's memory layout.
func TestNodePrepFitsACacheLine(t *testing.T) {
	if sz := unsafe.Sizeof(nodePrep{}); sz > 64 {
		t.Fatalf("nodePrep is %d bytes, want <= 64", sz)
	}
}
