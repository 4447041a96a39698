package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/strata-edge/strata/placement"
)

// ErrPlacementBenchConfig reports invalid arguments to PlacementEngine. It
// lives here rather than in errors.go only because this file is the
// placement engine's sole footprint in the bench package.
var ErrPlacementBenchConfig = errors.New("bench: invalid placement bench config")

// PlacementEngineResult is the placement engine's capacity on one core.
// Decisions are Place calls that returned (successfully or with
// ErrNoCapacity/ErrQuotaExceeded, which cost the same scan).
type PlacementEngineResult struct {
	DecisionsPerSec1k  float64 `json:"engine_decisions_per_sec_1k"`
	P99Micros1k        float64 `json:"engine_p99_us_1k"`
	DecisionsPerSec10k float64 `json:"engine_decisions_per_sec_10k"`
	P50Micros10k       float64 `json:"engine_p50_us_10k"`
	P99Micros10k       float64 `json:"engine_p99_us_10k"`
	// ViewerRoutesPerSec10k is RouteViewer's rate on the 10k fleet.
	ViewerRoutesPerSec10k float64 `json:"engine_viewer_routes_per_sec_10k"`
	// PlacedFraction10k is the share of 10k decisions that found a node,
	// to show the snapshot is neither empty nor full.
	PlacedFraction10k float64 `json:"engine_placed_fraction_10k"`
	// ExaminedFraction10k is the mean share of the 10k fleet a decision
	// ran through the filters; the rest the geo index showed to be
	// farther than the winner (placement.Explanation.Skipped).
	ExaminedFraction10k float64 `json:"engine_examined_fraction_10k"`
	// Nodes, DecisionsPerSec and P99Micros describe the extra fleet size
	// asked for with nodes, when it is neither 1,000 nor 10,000.
	Nodes           int     `json:"engine_nodes,omitempty"`
	DecisionsPerSec float64 `json:"engine_decisions_per_sec,omitempty"`
	P99Micros       float64 `json:"engine_p99_us,omitempty"`
}

// PlacementEngine measures the pure placement engine on one goroutine:
// decisions per second and latency percentiles on random but realistic
// fleets of 1,000 and 10,000 edges (always both, so reports stay
// comparable), plus a fleet of nodes edges when nodes is another positive
// number. Each fleet is measured for duration (zero means 2 s), so the call
// takes about 2–3× duration plus setup. Fleets and requests come from a
// fixed seed: runs differ only by the machine.
//
// Decisions are not applied, so the fleet's fill level stays constant
// during a run; the snapshot is prepared once, as on the Raft leader.
// It returns early with ctx's error when ctx is cancelled.
func PlacementEngine(ctx context.Context, nodes int, duration time.Duration) (PlacementEngineResult, error) {
	var res PlacementEngineResult
	if nodes < 0 || duration < 0 {
		return res, fmt.Errorf("%w: nodes %d, duration %v", ErrPlacementBenchConfig, nodes, duration)
	}
	if duration == 0 {
		duration = 2 * time.Second
	}
	m, err := measurePlacement(ctx, 1000, duration)
	if err != nil {
		return res, err
	}
	res.DecisionsPerSec1k, res.P99Micros1k = m.perSec, m.p99us
	m, err = measurePlacement(ctx, 10000, duration)
	if err != nil {
		return res, err
	}
	res.DecisionsPerSec10k, res.P50Micros10k, res.P99Micros10k = m.perSec, m.p50us, m.p99us
	res.PlacedFraction10k, res.ViewerRoutesPerSec10k = m.placed, m.viewerPerSec
	res.ExaminedFraction10k = m.examined
	if nodes > 0 && nodes != 1000 && nodes != 10000 {
		m, err = measurePlacement(ctx, nodes, duration)
		if err != nil {
			return res, err
		}
		res.Nodes, res.DecisionsPerSec, res.P99Micros = nodes, m.perSec, m.p99us
	}
	return res, nil
}

// placementMeasure is one fleet size's figures.
type placementMeasure struct {
	perSec, p50us, p99us, placed, viewerPerSec, examined float64
}

// measurePlacement times every Place call for duration; the rate is calls
// divided by the summed call times, so the harness's own loop is excluded
// (time.Now costs tens of nanoseconds, under 1% of a decision on 1k nodes).
// RouteViewer is then run for a quarter of duration.
func measurePlacement(ctx context.Context, n int, duration time.Duration) (placementMeasure, error) {
	var m placementMeasure
	r := rand.New(rand.NewPCG(20240601, uint64(n)))
	snap := placementFleet(r, n)
	if err := snap.Prepare(); err != nil {
		return m, fmt.Errorf("bench: placement fleet: %w", err)
	}
	reqs := make([]placement.Request, 4096)
	for i := range reqs {
		reqs[i] = placementRequest(r, snap)
	}
	lat := make([]time.Duration, 0, 1<<16)
	placed, examined := 0, 0
	var busy time.Duration
	start := time.Now()
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return m, fmt.Errorf("bench: placement: %w", err)
			}
			if time.Since(start) >= duration {
				break
			}
		}
		t0 := time.Now()
		dec, err := placement.Place(snap, reqs[i%len(reqs)])
		d := time.Since(t0)
		examined += dec.Explanation.Considered
		busy += d
		lat = append(lat, d)
		if err == nil {
			placed++
		} else if !errors.Is(err, placement.ErrNoCapacity) && !errors.Is(err, placement.ErrQuotaExceeded) {
			return m, fmt.Errorf("bench: placement: %w", err)
		}
	}
	slices.Sort(lat)
	m.perSec = float64(len(lat)) / busy.Seconds()
	m.p50us = float64(lat[len(lat)/2]) / float64(time.Microsecond)
	m.p99us = float64(lat[len(lat)*99/100]) / float64(time.Microsecond)
	m.placed = float64(placed) / float64(len(lat))
	m.examined = float64(examined) / float64(len(lat)) / float64(n)

	vreqs := make([]placement.ViewerRequest, 1024)
	for i := range vreqs {
		vreqs[i] = placement.ViewerRequest{
			SessionID:    "sess-" + strconv.Itoa(r.IntN(200)),
			IngestNodeID: snap.Nodes[r.IntN(len(snap.Nodes))].ID,
			BitrateMbps:  int64(4 + r.IntN(20)),
			Viewer:       placementRequest(r, snap).Requester,
		}
	}
	routes := 0
	start = time.Now()
	for ; ; routes++ {
		if routes%256 == 0 {
			if err := ctx.Err(); err != nil {
				return m, fmt.Errorf("bench: placement: %w", err)
			}
			if time.Since(start) >= duration/4 {
				break
			}
		}
		_, _ = placement.RouteViewer(snap, vreqs[routes%len(vreqs)])
	}
	m.viewerPerSec = float64(routes) / time.Since(start).Seconds()
	return m, nil
}

// placementMetro is a city with edge sites and users.
type placementMetro struct {
	region   string
	lat, lon float64
}

// placementMetros spreads edges over the world the way a CDN-like fleet
// is: several metros per continent, regions grouping nearby metros.
var placementMetros = []placementMetro{
	{"eu-west", 48.86, 2.35}, {"eu-west", 51.51, -0.13}, {"eu-west", 52.37, 4.90}, {"eu-west", 40.42, -3.70},
	{"eu-central", 50.11, 8.68}, {"eu-central", 52.52, 13.40}, {"eu-central", 48.21, 16.37}, {"eu-north", 59.33, 18.07},
	{"us-east", 38.90, -77.04}, {"us-east", 40.71, -74.01}, {"us-east", 33.75, -84.39}, {"us-central", 41.88, -87.63},
	{"us-central", 32.78, -96.80}, {"us-west", 37.77, -122.42}, {"us-west", 34.05, -118.24}, {"us-west", 47.61, -122.33},
	{"sa-east", -23.55, -46.63}, {"sa-east", -34.60, -58.38}, {"ap-northeast", 35.68, 139.69}, {"ap-northeast", 37.57, 126.98},
	{"ap-southeast", 1.35, 103.82}, {"ap-southeast", -33.87, 151.21}, {"ap-south", 19.08, 72.88}, {"me-central", 25.20, 55.27},
	{"af-south", -26.20, 28.05},
}

var placementModels = []struct {
	name  string
	memMB int64
}{{"L4", 24576}, {"L40S", 49152}, {"A10G", 24576}}

// placementFleet builds n edges: each in a metro site (a few sites per
// metro, nodes of a site share coordinates), 0–8 GPUs of one model, a 10–100
// Gbit/s NIC, a third of GPUs and some egress already reserved, live load
// of varying age, and a few suspect, dead or draining nodes.
func placementFleet(r *rand.Rand, n int) *placement.Snapshot {
	s := &placement.Snapshot{Nodes: make([]placement.Node, n), Tenants: map[string]placement.Tenant{}}
	for t := range 50 {
		s.Tenants["tenant-"+strconv.Itoa(t)] = placement.Tenant{
			Quota: placement.Quota{MaxSessions: 5000, MaxGPUs: 5000},
			Usage: placement.Usage{Sessions: r.IntN(4000), GPUs: r.IntN(4000)},
		}
	}
	for i := range s.Nodes {
		m := placementMetros[r.IntN(len(placementMetros))]
		site := r.IntN(4)
		nd := placement.Node{
			ID:       fmt.Sprintf("edge-%s-%05d", m.region, i),
			Region:   m.region,
			Zone:     m.region + "-" + string(rune('a'+site)),
			Location: placement.Location{Lat: m.lat + float64(site)*0.05, Lon: m.lon + float64(site)*0.05, Known: true},
			Labels:   map[string]string{"tier": []string{"standard", "premium"}[r.IntN(2)]},
			State:    placement.StateAlive,
			NICMbps:  int64(10+r.IntN(10)*10) * 1000,
			Revision: uint64(r.IntN(1 << 20)),
		}
		switch r.IntN(50) {
		case 0:
			nd.State = placement.StateSuspect
		case 1:
			nd.State = placement.StateDead
		case 2, 3:
			nd.Draining = true
		}
		model := placementModels[r.IntN(len(placementModels))]
		nd.GPUs = make([]placement.GPU, r.IntN(9))
		for g := range nd.GPUs {
			gpu := placement.GPU{Index: g, UUID: fmt.Sprintf("GPU-%d-%d", i, g), Model: model.name, MemoryMB: model.memMB}
			switch r.IntN(6) {
			case 0:
				gpu.ReservedMB, gpu.Sessions = model.memMB, 1
			case 1:
				gpu.ReservedMB, gpu.Sessions = model.memMB/2, 2
			}
			nd.GPUs[g] = gpu
		}
		nd.ReservedEgressMbps = int64(r.Float64() * 0.6 * float64(nd.NICMbps))
		nd.Load = placement.Load{
			EgressMbps: int64(r.Float64() * 0.8 * float64(nd.NICMbps)),
			Age:        time.Duration(r.IntN(8000)) * time.Millisecond,
		}
		for range r.IntN(4) {
			nd.Relaying = append(nd.Relaying, "sess-"+strconv.Itoa(r.IntN(200)))
		}
		s.Nodes[i] = nd
	}
	return s
}

// placementRequest is a session request from a user near a random metro:
// mostly one GPU, shared or whole, a 5–50 Mbit/s stream, sometimes a model,
// region, label or anti-affinity constraint.
func placementRequest(r *rand.Rand, s *placement.Snapshot) placement.Request {
	m := placementMetros[r.IntN(len(placementMetros))]
	req := placement.Request{
		Tenant:     "tenant-" + strconv.Itoa(r.IntN(60)),
		GPUs:       1,
		EgressMbps: int64(5 + r.IntN(46)),
		Requester: placement.Requester{
			Location: placement.Location{Lat: m.lat + r.NormFloat64(), Lon: m.lon + r.NormFloat64(), Known: true},
			Region:   m.region,
		},
		Policy: placement.Policy(r.IntN(2)),
	}
	req.Requester.Location.Lat = min(max(req.Requester.Location.Lat, -90), 90)
	req.Requester.Location.Lon = min(max(req.Requester.Location.Lon, -180), 180)
	switch r.IntN(10) {
	case 0:
		req.GPUs = 2
	case 1:
		req.GPUs = 0
	}
	if req.GPUs > 0 && r.IntN(2) == 0 {
		req.GPUMemoryMB = int64(4+r.IntN(5)*4) * 1024
	}
	if r.IntN(5) == 0 {
		req.GPUModel = placementModels[r.IntN(len(placementModels))].name
	}
	if r.IntN(10) == 0 {
		req.Regions = []string{m.region}
	}
	if r.IntN(10) == 0 {
		req.Labels = map[string]string{"tier": "premium"}
	}
	if r.IntN(10) == 0 {
		for range 1 + r.IntN(3) {
			req.AvoidNodes = append(req.AvoidNodes, s.Nodes[r.IntN(len(s.Nodes))].ID)
		}
	}
	return req
}
