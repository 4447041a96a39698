package bench

import (
	"context"
	"testing"
	"time"
)

// TestAutoscaleReplay runs both traces through the policy and the
// baseline and checks the targets on the combined result, and
// that the policy never removed a node holding a session.
func TestAutoscaleReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 28 simulated hours")
	}
	r, err := Autoscale(context.Background(), AutoscaleOptions{Trace: "both", BufferPercent: 25, DrainDeadline: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if r.PendingRatio > 0.5 || r.IdleRatio > 1.0 {
		t.Errorf("pending_ratio %.3f (target ≤ 0.5), idle_ratio %.3f (target ≤ 1.0)", r.PendingRatio, r.IdleRatio)
	}
	if r.KilledSessions != 0 {
		t.Errorf("the policy removed nodes holding %d sessions", r.KilledSessions)
	}
	if r.BaselineKilledSessions == 0 || len(r.Traces) != 2 || r.Sessions == 0 {
		t.Errorf("result %+v", r)
	}
	if _, err := Autoscale(context.Background(), AutoscaleOptions{Trace: "weekly"}); err == nil {
		t.Error("unknown trace accepted")
	}
}
