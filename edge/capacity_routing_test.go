package edge_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/capacity"
	"github.com/strata-edge/strata/internal/testcluster"
)

// TestCalibratedProfileChangesViewerRouting: a viewer near edge-a, which
// ingests the session, is routed to edge-a; when edge-a's calibrated
// profile says it carries 15 Mbit/s within the SLO, its session's 10
// Mbit/s leaves no room for another 10 Mbit/s copy, and the same viewer
// goes to edge-b instead of pushing edge-a past its knee.
func TestCalibratedProfileChangesViewerRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	prof, err := capacity.NewProfile(capacity.ThisHost(), 10_000_000,
		map[string]capacity.Transport{"webrtc": {KneeViewers: 1, EgressMbps: 15, CPUCores: 0.5, Broke: true}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "capacity.json")
	if err := prof.Write(path); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, profile, want string
	}{
		{"uncalibrated", "", "edge-a"},
		{"calibrated", path, "edge-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			if err := c.StartEdgesAlive([]testcluster.EdgeSpec{
				{ID: "edge-a", Region: "eu", Lat: 48.8, Lon: 2.3, CapacityProfile: tc.profile},
				{ID: "edge-b", Region: "us", Lat: 40.7, Lon: -74},
			}, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			cl := c.Client()
			ten, app, err := testcluster.GameApp(ctx, cl, "calibrated")
			if err != nil {
				t.Fatal(err)
			}
			lat, lon := 48.8, 2.3
			ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu", Lat: &lat, Lon: &lon}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if ses.Reservation == nil || ses.Reservation.NodeID != "edge-a" {
				t.Fatalf("session placed %+v, want on edge-a", ses.Reservation)
			}
			v, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Lat: &lat, Lon: &lon})
			if err != nil {
				t.Fatal(err)
			}
			if v.Edge != tc.want {
				t.Fatalf("viewer in Paris routed to %s, want %s", v.Edge, tc.want)
			}
		})
	}
}
