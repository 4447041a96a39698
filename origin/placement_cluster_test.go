package origin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/client"
)

// Capacity of the placement scenario: each edge has 3 L4s of 24 GiB and a
// session takes 2,400 MB of one GPU, so 10 sessions per GPU, 30 per edge.
const (
	pcEdges        = 10
	pcGPUSpec      = "fake:3xL4:24GB"
	pcSessionMB    = 2400
	pcCapacity     = 300
	pcCreates      = 1000
	pcEgressMbps   = 10
	pcEdgeNICMbps  = 10000
	pcPollDeadline = 30 * time.Second
	// pcInFlight bounds the creates in flight: 1,000 at once starve a
	// 2-core CI machine under -race enough to cost Raft its leader.
	pcInFlight = 16
)

// placementFixture is a cluster with edges, a tenant and an app.
type placementFixture struct {
	c      *testcluster.Cluster
	tenant string
	app    string
}

func startPlacementFixture(t *testing.T, origins, edges int, gpus string) *placementFixture {
	t.Helper()
	c := startCluster(t, origins)
	ids := edgeIDs(edges)
	if _, err := c.StartEdges(edges, func(i int) testcluster.EdgeSpec {
		return testcluster.EdgeSpec{ID: ids[i], GPUs: gpus, NICMbps: pcEdgeNICMbps, Lat: 48 + float64(i)/10, Lon: 2}
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges(ids, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ten, err := c.Client().CreateTenant(ctx, "placement", registry.Quota{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.Client().CreateApp(ctx, client.AppSpec{
		TenantID: ten.ID, Name: "game", Command: []string{"true"},
		GPUs: 1, GPUModel: "L4", GPUMemoryMB: pcSessionMB, EgressMbps: pcEgressMbps,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &placementFixture{c: c, tenant: ten.ID, app: app.ID}
}

// sessions lists every session through the leader (stale read of the
// leader's FSM, which is the authority for placement).
func (f *placementFixture) sessions(ctx context.Context) ([]client.Session, error) {
	l := f.c.Leader()
	if l < 0 {
		return nil, errors.New("no leader")
	}
	cl := f.c.NodeClient(l)
	var all []client.Session
	cursor := ""
	for {
		path := "/v1/sessions?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page client.List[client.Session]
		if err := cl.Do(ctx, "GET", path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || page.NextCursor == cursor {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// census counts sessions by state.
func census(ss []client.Session) map[string]int {
	m := map[string]int{}
	for _, s := range ss {
		m[s.State]++
	}
	return m
}

// checkReservations verifies that every edge's reservations (GET
// /v1/nodes on the leader) equal the sum of the sessions placed on it and
// that no GPU or NIC is overbooked. It returns the placed sessions by
// edge.
func (f *placementFixture) checkReservations(ctx context.Context, ss []client.Session) error {
	l := f.c.Leader()
	if l < 0 {
		return errors.New("no leader")
	}
	nodes, err := testcluster.EdgeStatuses(ctx, f.c.NodeClient(l))
	if err != nil {
		return err
	}
	type sum struct {
		sessions, egress int64
		gpuMB            map[int64]int64
	}
	want := map[string]*sum{}
	for _, s := range ss {
		if s.State != "placed" {
			if s.Reservation != nil && s.State != "terminated" {
				return fmt.Errorf("session %s is %s but holds %+v", s.ID, s.State, *s.Reservation)
			}
			continue
		}
		if s.Reservation == nil {
			return fmt.Errorf("placed session %s has no reservation", s.ID)
		}
		r := s.Reservation
		w := want[r.NodeID]
		if w == nil {
			w = &sum{gpuMB: map[int64]int64{}}
			want[r.NodeID] = w
		}
		w.sessions++
		w.egress += r.EgressMbps
		for _, g := range r.GPUs {
			w.gpuMB[g.Index] += g.MemoryMB
		}
	}
	for id, n := range nodes {
		w := want[id]
		if w == nil {
			w = &sum{gpuMB: map[int64]int64{}}
		}
		if n.Reserved.Sessions != w.sessions || n.Reserved.EgressMbps != w.egress {
			return fmt.Errorf("%s reserves %d sessions / %d Mbit/s, its placed sessions sum to %d / %d",
				id, n.Reserved.Sessions, n.Reserved.EgressMbps, w.sessions, w.egress)
		}
		if n.Reserved.EgressMbps > n.NICMbps {
			return fmt.Errorf("%s NIC overbooked: %d of %d Mbit/s", id, n.Reserved.EgressMbps, n.NICMbps)
		}
		capMB := map[int64]int64{}
		for _, g := range n.GPUs {
			capMB[g.Index] = g.MemoryMB
		}
		got := map[int64]int64{}
		for _, g := range n.Reserved.GPUMemoryMB {
			got[g.Index] = g.MemoryMB
			if c, ok := capMB[g.Index]; !ok || g.MemoryMB > c {
				return fmt.Errorf("%s GPU %d overbooked: %d of %d MB", id, g.Index, g.MemoryMB, c)
			}
		}
		for idx, mb := range w.gpuMB {
			if got[idx] != mb {
				return fmt.Errorf("%s GPU %d reserves %d MB, placed sessions sum to %d", id, idx, got[idx], mb)
			}
		}
	}
	return nil
}

// waitSettled polls until placed == want, every other live session is
// pending, and reservations match; it returns the sessions.
func (f *placementFixture) waitSettled(t *testing.T, wantPlaced int) []client.Session {
	t.Helper()
	ctx := context.Background()
	var ss []client.Session
	eventually(t, pcPollDeadline, func() error {
		var err error
		if ss, err = f.sessions(ctx); err != nil {
			return err
		}
		c := census(ss)
		if c["placed"] != wantPlaced || c["placed"]+c["pending"]+c["terminated"] != len(ss) {
			return fmt.Errorf("census %v, want %d placed and the rest pending", c, wantPlaced)
		}
		return f.checkReservations(ctx, ss)
	})
	return ss
}

// retryAPI calls f until it returns nil, failing the test on an error
// that is not a failover symptom or after the poll deadline.
func retryAPI(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(pcPollDeadline)
	for {
		err := f()
		if err == nil {
			return
		}
		if !testcluster.IsRetryable(err) && !notDelivered(err) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPlacementClusterCapacity: 1,000 concurrent creates against 300
// sessions of capacity, spread over 3 origins, with the leader killed
// half-way: exactly the capacity is placed, the rest waits, reservations
// match the placed sessions and nothing is overbooked; freeing 50 places
// the 50 oldest waiting sessions; fail_fast answers 503 and reserves
// nothing; viewers and explain answer.
func TestPlacementClusterCapacity(t *testing.T) {
	f := startPlacementFixture(t, 3, pcEdges, pcGPUSpec)
	c := f.c
	ctx := context.Background()

	var (
		acked   atomic.Int64
		retried atomic.Int64 // creates whose first attempt's outcome is unknown
		killed  = make(chan int, 1)
		wg      sync.WaitGroup
		errMu   sync.Mutex
		errs    []error
	)
	all := c.Client()
	spec := client.SessionSpec{TenantID: f.tenant, AppID: f.app}
	sem := make(chan struct{}, pcInFlight)
	for i := range pcCreates {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cl := c.NodeClient(i % len(c.Nodes))
			deadline := time.Now().Add(pcPollDeadline)
			for attempt := 0; ; attempt++ {
				_, err := cl.CreateSession(ctx, spec)
				if err == nil {
					if acked.Add(1) == pcCreates/2 {
						l, err := c.WaitLeader(10 * time.Second)
						if err == nil {
							err = c.Kill(l)
						}
						if err != nil {
							t.Errorf("kill leader: %v", err)
						}
						killed <- l
					}
					return
				}
				if time.Now().After(deadline) || !(testcluster.IsRetryable(err) || notDelivered(err)) {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
					return
				}
				if attempt == 0 {
					retried.Add(1)
				}
				cl = all // the addressed origin may be the dead leader
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d creates failed, first: %v", len(errs), errs[0])
	}
	old := <-killed
	if _, err := c.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s killed after %d acks; %d creates retried", c.Nodes[old].ID, pcCreates/2, retried.Load())

	ss := f.waitSettled(t, pcCapacity)
	// A retried create may have been committed twice (answer lost).
	if n := len(ss); n < pcCreates || n > pcCreates+int(retried.Load()) {
		t.Fatalf("%d sessions exist after %d acknowledged creates (%d retried)", n, pcCreates, retried.Load())
	}

	t.Run("freed capacity goes to the oldest pending", func(t *testing.T) {
		var placed, pending []client.Session
		for _, s := range ss {
			switch s.State {
			case "placed":
				placed = append(placed, s)
			case "pending":
				pending = append(pending, s)
			}
		}
		slices.SortFunc(pending, func(a, b client.Session) int { return int(a.CreateIndex) - int(b.CreateIndex) })
		for _, s := range placed[:50] {
			retryAPI(t, func() error {
				_, err := c.Client().TerminateSession(ctx, s.ID)
				if err != nil && !testcluster.IsRetryable(err) {
					// A retry after an unknown outcome finds it ended.
					if cur, gerr := c.Client().GetSession(ctx, s.ID, "consistent"); gerr == nil && cur.State == "terminated" {
						return nil
					}
				}
				return err
			})
		}
		after := f.waitSettled(t, pcCapacity)
		state := map[string]string{}
		for _, s := range after {
			state[s.ID] = s.State
		}
		for i, s := range pending {
			want := "pending"
			if i < 50 {
				want = "placed"
			}
			if state[s.ID] != want {
				t.Fatalf("pending #%d (create index %d) is %s, want %s", i, s.CreateIndex, state[s.ID], want)
			}
		}
	})

	t.Run("fail fast reserves nothing", func(t *testing.T) {
		before := census(f.waitSettled(t, pcCapacity))
		ff := spec
		ff.FailFast = true
		var apiErr *client.Error
		retryAPI(t, func() error {
			_, err := c.Client().CreateSession(ctx, ff)
			if errors.As(err, &apiErr) && apiErr.Code == "no_capacity" {
				return nil
			}
			if err == nil {
				t.Fatal("fail_fast create succeeded on a full fleet")
			}
			return err
		})
		if apiErr.Status != 503 || apiErr.RetryAfter <= 0 {
			t.Fatalf("fail_fast create = %v (Retry-After %d), want 503 with Retry-After", apiErr, apiErr.RetryAfter)
		}
		after := census(f.waitSettled(t, pcCapacity))
		if after["pending"] != before["pending"] || after["terminated"] <= before["terminated"] {
			t.Fatalf("census %v before, %v after: the refused session must end, not wait", before, after)
		}
	})

	t.Run("viewers and explain", func(t *testing.T) {
		var placed string
		for _, s := range ss {
			if s.State == "placed" {
				placed = s.ID
			}
		}
		for _, s := range f.waitSettled(t, pcCapacity) {
			if s.State == "placed" {
				placed = s.ID // the subtest above may have ended the first pick
			}
		}
		var v struct {
			Edge, Token, Role string
		}
		retryAPI(t, func() error {
			return c.Client().Do(ctx, "POST", "/v1/sessions/"+placed+"/viewers", map[string]any{"lat": 48.5, "lon": 2.0}, &v)
		})
		if !strings.HasPrefix(v.Edge, "edge-") || v.Token == "" || v.Role == "" {
			t.Fatalf("viewer answer %+v", v)
		}
		var ex struct {
			Placed      bool            `json:"placed"`
			Reason      string          `json:"reason"`
			Explanation json.RawMessage `json:"explanation"`
		}
		retryAPI(t, func() error {
			return c.Client().Do(ctx, "GET", "/v1/placement/explain?app_id="+f.app, nil, &ex)
		})
		if ex.Placed || !strings.Contains(string(ex.Explanation), "gpu_memory") {
			t.Fatalf("explain on a full fleet: placed %v, reason %q, explanation %s", ex.Placed, ex.Reason, ex.Explanation)
		}
	})
}

// TestPlacementClusterDeadEdge: the sessions of an edge that dies go back
// to pending and are placed again on the surviving edges.
func TestPlacementClusterDeadEdge(t *testing.T) {
	f := startPlacementFixture(t, 1, 3, "fake:1xL4:24GB") // 10 sessions per edge
	ctx := context.Background()
	for range 15 {
		if _, err := f.c.Client().CreateSession(ctx, client.SessionSpec{TenantID: f.tenant, AppID: f.app}); err != nil {
			t.Fatal(err)
		}
	}
	ss := f.waitSettled(t, 15)
	onEdge := map[string][]string{}
	for _, s := range ss {
		onEdge[s.Reservation.NodeID] = append(onEdge[s.Reservation.NodeID], s.ID)
	}
	victim := ""
	for id, l := range onEdge {
		if victim == "" || len(l) > len(onEdge[victim]) {
			victim = id
		}
	}
	if err := f.c.KillEdge(victim); err != nil {
		t.Fatal(err)
	}
	waitEdge(t, f.c, victim, 15*time.Second, wantState("dead"))
	eventually(t, pcPollDeadline, func() error {
		ss, err := f.sessions(ctx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			if s.State != "placed" || s.Reservation.NodeID == victim {
				return fmt.Errorf("session %s is %s on %v", s.ID, s.State, s.Reservation)
			}
		}
		return f.checkReservations(ctx, ss)
	})
	t.Logf("%d sessions of %s placed again", len(onEdge[victim]), victim)
}
