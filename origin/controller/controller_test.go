package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry"
)

// fakeController is a controller made of a function.
type fakeController struct {
	run func(ctx context.Context) error
}

func (f fakeController) Run(ctx context.Context) error { return f.run(ctx) }

// TestSupervisor: every controller runs for the term; ending the term
// stops them all before Run returns; one stopping early leaves the others
// running; a new term starts only after the last one's controllers
// returned.
func TestSupervisor(t *testing.T) {
	var mu sync.Mutex
	running := map[string]int{}
	track := func(name string, early error) Controller {
		return fakeController{func(ctx context.Context) error {
			mu.Lock()
			running[name]++
			mu.Unlock()
			defer func() {
				mu.Lock()
				running[name]--
				mu.Unlock()
			}()
			if early != nil {
				return early
			}
			<-ctx.Done()
			return nil
		}}
	}
	count := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return running[name]
	}
	bothRunning := func() error {
		if a, b := count("a"), count("b"); a != 1 || b != 1 {
			return fmt.Errorf("a runs %d times, b %d; want once each", a, b)
		}
		return nil
	}
	// slow ends one tick after its context, like a round finishing.
	release := make(chan struct{})
	slow := fakeController{func(ctx context.Context) error {
		<-ctx.Done()
		<-release
		return nil
	}}
	s, err := NewSupervisor(nil, track("a", nil), track("b", nil), track("broken", errors.New("boom")), slow)
	if err != nil {
		t.Fatal(err)
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	term1 := make(chan struct{})
	go func() { s.Run(ctx1); close(term1) }()
	poll.For(t, 5*time.Second, time.Millisecond, bothRunning)

	cancel1()
	ctx2, cancel2 := context.WithCancel(context.Background())
	term2 := make(chan struct{})
	go func() { s.Run(ctx2); close(term2) }()
	select {
	case <-term1:
		t.Fatal("the term ended before all its controllers returned")
	case <-time.After(10 * time.Millisecond):
	}
	if count("a") != 0 || count("b") != 0 {
		t.Fatalf("a second term started while the first was stopping: %v", running)
	}
	close(release)
	<-term1
	poll.For(t, 5*time.Second, time.Millisecond, bothRunning)
	cancel2()
	<-term2
	if count("a") != 0 || count("b") != 0 {
		t.Fatalf("still running after the term: %v", running)
	}

	if _, err := NewSupervisor(nil, nil); err == nil {
		t.Fatal("a nil controller was accepted")
	}
}

// TestCapacityCollector: per-edge capacity and reservations, and region
// totals over placeable edges only.
func TestCapacityCollector(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 100)
	h.edge("e2", 50)
	h.edge("e3", 70)
	h.running("ses1", "app1", "e1")
	h.running("ses2", "app1", "e1")
	h.must(&registry.SetNodeState{ID: "e3", State: registry.NodeAlive, Draining: true})
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCapacity(h)); err != nil {
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
				key += " " + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"strata_placement_capacity_egress_bytes_per_second e1 eu":     100e6 / 8,
		"strata_placement_reserved_egress_bytes_per_second e1 eu":     20e6 / 8,
		"strata_placement_capacity_egress_bytes_per_second e3 eu":     70e6 / 8,
		"strata_placement_region_capacity_egress_bytes_per_second eu": 150e6 / 8, // e3 drains
		"strata_placement_region_reserved_egress_bytes_per_second eu": 20e6 / 8,
		"strata_placement_region_capacity_gpu_memory_bytes eu":        0,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
