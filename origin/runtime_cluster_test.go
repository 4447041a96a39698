package origin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// instanceScript records, from inside the instance, its session and GPUs,
// and on SIGTERM that it was stopped. sleep runs in the background so the
// shell can take the signal while it waits.
const instanceScript = `out="$1/$STRATA_SESSION_ID"
trap 'echo stopped > "$out.stopped"; exit 0' TERM
printf '%s %s\n' "$STRATA_SESSION_ID" "$CUDA_VISIBLE_DEVICES" > "$out.tmp" && mv "$out.tmp" "$out"
sleep 600 & wait $!`

func TestRuntimeClusterDisjointGPUs(t *testing.T) {
	c := startCluster(t, 1)
	if _, err := c.StartEdge(testcluster.EdgeSpec{
		ID: "edge-rt", GPUs: "fake:2xL4:24GB",
		Runtime: edge.RuntimeConfig{StateDir: t.TempDir(), StopGrace: 5 * time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-rt"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "runtime"})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	app, err := admin.Apps().Create(ctx, api.AppSpec{
		TenantID: ten.ID, Name: "probe", Command: []string{"/bin/sh", "-c", instanceScript, "sh", out},
		GPUs: 1, GPUModel: "L4",
	})
	if err != nil {
		t.Fatal(err)
	}
	var ses []*api.Session
	for range 2 {
		s, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		ses = append(ses, s)
	}

	// Both instances run and say which GPU they see; both sessions start.
	seen := map[string]string{} // session → CUDA_VISIBLE_DEVICES
	poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
		for _, s := range ses {
			b, err := os.ReadFile(filepath.Join(out, s.ID))
			if err != nil {
				return err
			}
			f := strings.Fields(string(b))
			if len(f) != 2 || f[0] != s.ID {
				return fmt.Errorf("instance of %s wrote %q", s.ID, b)
			}
			seen[s.ID] = f[1]
			got, err := admin.Sessions().Get(ctx, s.ID, "")
			if err != nil {
				return err
			}
			if got.State != "starting" {
				return fmt.Errorf("session %s is %s", s.ID, got.State)
			}
		}
		return nil
	})
	if seen[ses[0].ID] == seen[ses[1].ID] || seen[ses[0].ID] == "" {
		t.Fatalf("instances share GPUs: %v", seen)
	}
	for _, s := range ses {
		if s.Reservation == nil || len(s.Reservation.GPUs) != 1 {
			t.Fatalf("session %s reservation %+v", s.ID, s.Reservation)
		}
		if want := fmt.Sprint(s.Reservation.GPUs[0].Index); seen[s.ID] != want {
			t.Errorf("session %s sees GPU %q; reserved %s", s.ID, seen[s.ID], want)
		}
	}

	// Only the reserving edge may report; only edge states are accepted.
	for _, tc := range []struct {
		report api.SessionStateReport
		status int
	}{
		{api.SessionStateReport{NodeID: "edge-other", State: api.StateRunning}, 403},
		{api.SessionStateReport{NodeID: "edge-rt", State: api.StateHibernated}, 400},
	} {
		_, err := admin.Sessions().ReportState(ctx, ses[0].ID, tc.report)
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
			t.Errorf("%+v: err = %v; want status %d", tc.report, err, tc.status)
		}
	}

	// Terminating one stops its instance and leaves the other running.
	if _, err := admin.Sessions().Terminate(ctx, ses[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
		_, err := os.Stat(filepath.Join(out, ses[0].ID+".stopped"))
		return err
	})
	if _, err := os.Stat(filepath.Join(out, ses[1].ID+".stopped")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the other instance was stopped too: %v", err)
	}
	// A report for the terminated session is an invalid transition.
	_, err = admin.Sessions().ReportState(ctx, ses[0].ID, api.SessionStateReport{NodeID: "edge-rt", State: api.StateRunning})
	if !api.IsCode(err, "invalid_state_transition") {
		t.Fatalf("report after terminate: %v; want invalid_state_transition", err)
	}
}
