package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/autoscale/prom"
	"github.com/strata-edge/strata/registry"
)

// fakeProm answers queries from a function; nil means unreachable.
type fakeProm struct {
	mu     sync.Mutex
	answer func(q string) []prom.Sample
}

func (f *fakeProm) Query(_ context.Context, q string) ([]prom.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answer == nil {
		return nil, errors.New("connection refused")
	}
	return f.answer(q), nil
}

func (f *fakeProm) set(a func(q string) []prom.Sample) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// promUp answers the demand queries for pool eu with pending and no
// growth, and viewers per node.
func promUp(pending float64, viewers map[string]float64) func(q string) []prom.Sample {
	return func(q string) []prom.Sample {
		eu := map[string]string{"region": "eu", "class": ""}
		switch q {
		case DefaultPendingQuery:
			return []prom.Sample{{Labels: eu, Value: pending}}
		case DefaultGrowthQuery:
			return []prom.Sample{{Labels: eu, Value: 0}}
		}
		var out []prom.Sample
		for n, v := range viewers {
			out = append(out, prom.Sample{Labels: map[string]string{"node": n}, Value: v})
		}
		return out
	}
}

// fakeProvider records actions; fail, when set, decides each one's error.
type fakeProvider struct {
	mu      sync.Mutex
	actions []autoscale.Action
	fail    func(a autoscale.Action) error
}

func (p *fakeProvider) Scale(_ context.Context, a autoscale.Action) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.actions = append(p.actions, a)
	if p.fail != nil {
		return p.fail(a)
	}
	return nil
}

func (p *fakeProvider) added() (n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.actions {
		n += a.Add
	}
	return n
}

func (p *fakeProvider) removed() (ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.actions {
		ids = append(ids, a.Remove...)
	}
	return ids
}

func (h *harness) autoscaler(m MetricsSource, p autoscale.Provider, pool autoscale.Pool) *Autoscaler {
	h.t.Helper()
	a, err := NewAutoscaler(AutoscalerDeps{Store: h, Pools: []autoscale.Pool{pool}, Metrics: m, Provider: p, Now: h.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// fullEdge is a harness with edge e1 of pool eu full (two sessions at
// two per node) and pending sessions waiting.
func fullEdge(t *testing.T, pending int) *harness {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 1000)
	h.running("s1", "app1", "e1")
	h.running("s2", "app1", "e1")
	for i := range pending {
		h.pending(fmt.Sprintf("s%d", i+3), "app1")
	}
	return h
}

var euPool = autoscale.Pool{Region: "eu", Min: 1, Max: 5, SlotsPerNode: 2, ScaleDownWindow: time.Minute, LeadTime: 30 * time.Second}

func TestAutoscalerScalesUpForPendingOnceAcrossLeaders(t *testing.T) {
	h := fullEdge(t, 3)
	// Prometheus is away: the registry's pending sessions alone scale out.
	pv := &fakeProvider{}
	a := h.autoscaler(&fakeProm{}, pv, euPool)
	a.Round(context.Background())
	if got := pv.added(); got != 2 {
		t.Fatalf("added %d, want 2 (3 pending at 2 per node)", got)
	}
	a.Round(context.Background())
	// A new leader reads the decision from the registry: the nodes are
	// on their way, so nothing is asked for twice.
	b := h.autoscaler(&fakeProm{}, pv, euPool)
	h.advance(10 * time.Second)
	b.Round(context.Background())
	if got := pv.added(); got != 2 {
		t.Fatalf("added %d after a leader change, want still 2", got)
	}
	ds := h.State().ScaleDecisions()
	if len(ds) == 0 || ds[0].Add != 2 || ds[0].Status != registry.ScaleDone || ds[0].Reason == "" || ds[0].Inputs == "" {
		t.Fatalf("decisions %+v", ds)
	}
	// The nodes join: their join time measures the lead time.
	h.advance(10 * time.Second)
	h.edge("e2", 1000)
	h.edge("e3", 1000)
	b.Round(context.Background())
	if got := pv.added(); got != 2 {
		t.Fatalf("added %d once the nodes joined", got)
	}
	ds = h.State().ScaleDecisions()
	if !strings.Contains(string(ds[len(ds)-1].Memory), `"filled":2`) && strings.Contains(string(ds[len(ds)-1].Memory), `"requests"`) {
		t.Fatalf("joined nodes did not fill the request: %s", ds[len(ds)-1].Memory)
	}
}

// TestAutoscalerLeaderLostMidScaleUpAddsNothingTwice: the leader records
// the decision and dies while the provider runs (its status never
// settles); the next leader counts the request as in flight.
func TestAutoscalerLeaderLostMidScaleUpAddsNothingTwice(t *testing.T) {
	h := fullEdge(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	pv := &fakeProvider{fail: func(autoscale.Action) error { cancel(); return context.Canceled }}
	h.autoscaler(&fakeProm{}, pv, euPool).Round(ctx)
	ds := h.State().ScaleDecisions()
	if len(ds) != 1 || ds[0].Status != registry.ScalePlanned {
		t.Fatalf("decisions %+v", ds)
	}
	pv2 := &fakeProvider{}
	b := h.autoscaler(&fakeProm{}, pv2, euPool)
	for range 3 {
		h.advance(5 * time.Second)
		b.Round(context.Background())
	}
	if pv2.added() != 0 {
		t.Fatalf("the new leader added %d again", pv2.added())
	}
	// Past the request's expiry (3 lead times) it is given up on.
	h.advance(2 * time.Minute)
	b.Round(context.Background())
	if pv2.added() != 1 {
		t.Fatalf("expired request not replaced: added %d", pv2.added())
	}
}

func TestAutoscalerFailedProviderIsRetried(t *testing.T) {
	h := fullEdge(t, 1)
	pv := &fakeProvider{fail: func(autoscale.Action) error { return errors.New("quota") }}
	a := h.autoscaler(&fakeProm{}, pv, euPool)
	a.Round(context.Background())
	if ds := h.State().ScaleDecisions(); ds[0].Status != registry.ScaleFailed || ds[0].Error != "quota" {
		t.Fatalf("decision %+v", ds[0])
	}
	pv.fail = nil
	a.Round(context.Background())
	if pv.added() != 2 {
		t.Fatalf("actions %+v", pv.actions)
	}
}

func TestAutoscalerDrainsEmptiestThenRemovesWhenEmpty(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	for _, id := range []string{"e1", "e2", "e3"} {
		h.edge(id, 1000)
	}
	h.running("s1", "app1", "e2")
	fp := &fakeProm{}
	fp.set(promUp(0, map[string]float64{"e1": 3}))
	pv := &fakeProvider{}
	a := h.autoscaler(fp, pv, euPool)
	a.Round(context.Background())
	h.advance(30 * time.Second)
	a.Round(context.Background())
	for _, id := range []string{"e1", "e2", "e3"} {
		if h.node(id).Draining {
			t.Fatalf("%s drained inside the window", id)
		}
	}
	// Prometheus goes away past the window: nothing is scaled in.
	fp.set(nil)
	h.advance(2 * time.Minute)
	a.Round(context.Background())
	for _, id := range []string{"e1", "e2", "e3"} {
		if h.node(id).Draining {
			t.Fatalf("%s drained with metrics lost", id)
		}
	}
	fp.set(promUp(0, map[string]float64{"e1": 3}))
	a.Round(context.Background())
	h.advance(61 * time.Second)
	a.Round(context.Background())
	// One session at 2 per node: 1 node wanted. e3 is empty, e1 has
	// viewers only, e2 a session: e3 and e1 drain, e2 stays.
	if !h.node("e3").Draining || !h.node("e1").Draining || h.node("e2").Draining {
		t.Fatalf("draining e1 %t e2 %t e3 %t", h.node("e1").Draining, h.node("e2").Draining, h.node("e3").Draining)
	}
	a.Round(context.Background())
	if got := pv.removed(); !slices.Equal(got, []string{"e3"}) {
		t.Fatalf("removed %v, want [e3] (e1 still has viewers)", got)
	}
	// e1's viewers leave: it goes too, once.
	fp.set(promUp(0, nil))
	a.Round(context.Background())
	a.Round(context.Background())
	if got := pv.removed(); !slices.Equal(got, []string{"e3", "e1"}) {
		t.Fatalf("removed %v, want [e3 e1]", got)
	}
	if h.session("s1").State != registry.StateRunning {
		t.Fatal("a running session was touched")
	}
}

func TestAutoscalerCancelsDrainWhenDemandReturns(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 1000)
	h.edge("e2", 1000)
	fp := &fakeProm{}
	fp.set(promUp(0, nil))
	pv := &fakeProvider{}
	pool := euPool
	pool.Min = 0
	a := h.autoscaler(fp, pv, pool)
	h.running("s1", "app1", "e1")
	h.running("s2", "app1", "e2")
	a.Round(context.Background())
	h.advance(2 * time.Minute)
	// Both sessions sit on e2 worth of slots: want 1, drain the emptier.
	a.Round(context.Background())
	drained := ""
	for _, id := range []string{"e1", "e2"} {
		if h.node(id).Draining {
			drained = id
		}
	}
	if drained == "" {
		t.Fatal("nothing drained")
	}
	fp.set(promUp(2, nil))
	h.pending("s3", "app1")
	h.pending("s4", "app1")
	a.Round(context.Background())
	if h.node(drained).Draining {
		t.Fatalf("%s still draining with demand back", drained)
	}
	if len(pv.removed()) != 0 {
		t.Fatalf("removed %v", pv.removed())
	}
}

func TestAutoscalerDryRunActsOnNothing(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 1000)
	h.pending("s1", "app1")
	h.pending("s2", "app1")
	h.pending("s3", "app1")
	a, err := NewAutoscaler(AutoscalerDeps{Store: h, Pools: []autoscale.Pool{euPool}, Now: h.Now})
	if err != nil {
		t.Fatal(err)
	}
	a.Round(context.Background())
	ds := h.State().ScaleDecisions()
	if len(ds) != 1 || !ds[0].DryRun || ds[0].Add == 0 {
		t.Fatalf("decisions %+v", ds)
	}
}

func TestNewAutoscalerRefusesBadPools(t *testing.T) {
	h := newHarness(t)
	for _, pools := range [][]autoscale.Pool{
		{{Region: "eu", Min: 2, Max: 1}},
		{{Region: "eu", Max: 1}, {Region: "eu", Max: 2}},
	} {
		if _, err := NewAutoscaler(AutoscalerDeps{Store: h, Pools: pools}); !errors.Is(err, autoscale.ErrInvalidPool) {
			t.Fatalf("%+v: %v", pools, err)
		}
	}
}

// TestDemandSeries checks the per-region series the default queries
// read, and the autoscaler's own gauges.
func TestDemandSeries(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 1000) // region eu, no GPU: class ""
	h.edge("e2", 1000)
	h.running("s1", "app1", "e1")
	h.running("s2", "app1", "e2")
	s := h.newSession("s3", "app1")
	s.Region = "us"
	h.must(&registry.CreateSession{Session: s})
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewDemand(h)); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"strata_placement_region_sessions,class=,region=eu":         2,
		"strata_placement_region_pending_sessions,class=,region=eu": 0,
		"strata_placement_region_pending_sessions,class=,region=us": 1,
	}
	if !maps.Equal(got, want) {
		t.Fatalf("series %v, want %v", got, want)
	}

	areg := prometheus.NewRegistry()
	a, err := NewAutoscaler(AutoscalerDeps{Store: h, Pools: []autoscale.Pool{euPool}, Registerer: areg, Now: h.Now})
	if err != nil {
		t.Fatal(err)
	}
	a.Round(context.Background())
	if v := gathered(t, areg, "strata_autoscaler_metrics_up"); v != 0 {
		t.Fatalf("metrics_up %v with no Prometheus", v)
	}
	if v := gathered(t, areg, "strata_autoscaler_pool_current_nodes"); v != 2 {
		t.Fatalf("current nodes %v", v)
	}
}
