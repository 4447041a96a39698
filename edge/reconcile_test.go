package edge

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
)

// An edge that runs no sessions warns once that they will not start, and
// logs its assignments only when they change, whatever the index did.
func TestLogReconcilerLogsChangesOnce(t *testing.T) {
	var out strings.Builder
	r := &LogReconciler{Log: slog.New(slog.NewTextHandler(&out, nil))}
	a := api.Session{ID: "ses_a", State: api.StatePlaced}
	b := api.Session{ID: "ses_b", State: api.StatePlaced}
	for _, set := range [][]api.Session{nil, nil, {a}, {a}, {a}, {b, a}, {a, b}, {a}} {
		if err := r.Reconcile(context.Background(), set); err != nil {
			t.Fatal(err)
		}
	}
	logs := out.String()
	// {a}, {a,b}, {a}: three changes (none assigned at start is no news).
	if n := strings.Count(logs, "assignments changed"); n != 3 {
		t.Errorf("want 3 assignment lines, got %d:\n%s", n, logs)
	}
	if n := strings.Count(logs, "level=WARN"); n != 1 || !strings.Contains(logs, "never start") {
		t.Errorf("want one warning that sessions never start here, got %d:\n%s", n, logs)
	}
}

// An edge that cannot run sessions reports each one placed on it failed,
// with why, once per placement, rather than leave it placed.
func TestRefusingReconcilerFailsPlacedSessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	origins := &runtimeAPI{reports: make(chan report, 16)}
	r := &refusingReconciler{node: "edge-a", why: "edge edge-a cannot run sessions: no state dir", api: fakeClient(origins.roundTrip),
		log: slog.New(slog.DiscardHandler)}
	a := placed("ses_a", "app", 0)
	a.ModifyIndex = 5
	elsewhere := placed("ses_b", "app", 0)
	elsewhere.Reservation.NodeID = "edge-b"
	running := placed("ses_c", "app", 0)
	running.State = api.StateRunning
	for range 2 { // the same set again reports nothing more
		if err := r.Reconcile(ctx, []api.Session{a, elsewhere, running}); err != nil {
			t.Fatal(err)
		}
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_a", "failed", r.why}) {
		t.Fatalf("report %+v; want ses_a failed with the edge's reason", got)
	}
	a.ModifyIndex = 9 // placed here again
	if err := r.Reconcile(ctx, []api.Session{a}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got.session != "ses_a" || got.state != "failed" {
		t.Fatalf("report %+v; want ses_a failed again for its new placement", got)
	}
	select {
	case got := <-origins.reports:
		t.Fatalf("unexpected report %+v", got)
	default:
	}
}
