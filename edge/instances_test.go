package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/client"
	"github.com/strata-edge/strata/transport/media"
)

// report is one POST /v1/sessions/{id}/state the runner sent.
type report struct{ session, state, reason string }

// runtimeAPI answers the runner's calls: apps by ID, publisher tokens,
// and state reports, which it hands to the test.
type runtimeAPI struct {
	apps    map[string]appSpec
	reports chan report
}

func (a *runtimeAPI) DoIndex(ctx context.Context, method, path string, body, out any) (uint64, error) {
	var v any
	switch {
	case method == "GET" && strings.HasPrefix(path, "/v1/apps/"):
		app, ok := a.apps[strings.TrimPrefix(path, "/v1/apps/")]
		if !ok {
			return 0, &client.Error{Status: 404, Code: "not_found"}
		}
		v = app
	case method == "POST" && strings.HasSuffix(path, "/publishers"):
		v = publisher{Token: "tok", MoQURL: "https://edge:4433/moq"}
	case method == "POST" && strings.HasSuffix(path, "/state"):
		m := body.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/sessions/"), "/state")
		select {
		case a.reports <- report{id, str("state"), str("reason")}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return 1, nil
	case method == "POST" && strings.HasSuffix(path, "/idle"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/sessions/"), "/idle")
		select {
		case a.reports <- report{id, "idle", ""}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return 1, nil
	default:
		return 0, fmt.Errorf("unexpected %s %s", method, path)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return 1, json.Unmarshal(b, out)
}

func nextReport(ctx context.Context, t *testing.T, a *runtimeAPI) report {
	t.Helper()
	select {
	case r := <-a.reports:
		return r
	case <-ctx.Done():
		t.Fatal("no state report")
		return report{}
	}
}

func placed(id, app string, gpu int64) client.Session {
	return client.Session{
		ID: id, TenantID: "ten_a", AppID: app, State: "placed",
		Reservation: &registry.Reservation{NodeID: "edge-a", GPUs: []registry.GPUSlice{{Index: gpu}}},
	}
}

func TestRunnerFailedRunningAndStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := &runtimeAPI{reports: make(chan report, 16), apps: map[string]appSpec{
		"app_crash": {Runtime: "process", Command: []string{"/bin/sh", "-c", "echo boom >&2; exit 7"}},
		"app_ok":    {Runtime: "process", Command: []string{"/bin/sh", "-c", "sleep 600 & wait $!"}},
	}}
	r, hub := newProcessRunner(t, api)

	crash := placed("ses_crash", "app_crash", 0)
	if err := r.Reconcile(ctx, []client.Session{crash}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_crash", "starting", ""}) {
		t.Fatalf("first report %+v", got)
	}
	got := nextReport(ctx, t, api)
	if got.session != "ses_crash" || got.state != "failed" || !strings.Contains(got.reason, "status 7") {
		t.Fatalf("report %+v; want failed with status 7", got)
	}

	// The stale assignment of the failed session does not restart it.
	ok := placed("ses_ok", "app_ok", 1)
	if err := r.Reconcile(ctx, []client.Session{crash, ok}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_ok", "starting", ""}) {
		t.Fatalf("report %+v; want ses_ok starting", got)
	}

	// The first keyframe on the session's video track makes it running.
	_, tr := publishVideo(t, hub, "ses_ok")
	if err := tr.Append(media.Object{Keyframe: true, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_ok", "running", ""}) {
		t.Fatalf("report %+v; want ses_ok running", got)
	}

	// Unassigned: stopped, and not reported failed.
	r.mu.Lock()
	in := r.inst["ses_ok"].in
	r.mu.Unlock()
	if err := r.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := in.Wait(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("instance exit %v; want stopped by a signal", err)
	}
	select {
	case got := <-api.reports:
		t.Fatalf("unexpected report %+v after a requested stop", got)
	default:
	}
}

// TestRunnerIdleAndPlacedAnew: a running session without a viewer of its
// media is reported idle after the app's idle time (a watched one is
// not), and a session placed anew while the instance of an earlier
// placement still runs gets a fresh instance.
func TestRunnerIdleAndPlacedAnew(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := &runtimeAPI{reports: make(chan report, 16), apps: map[string]appSpec{
		"app_idle": {Runtime: "process", Command: []string{"/bin/sh", "-c", "sleep 600 & wait $!"}, IdlePolicy: "hibernate", IdleMinutes: 2},
	}}
	r, hub := newProcessRunner(t, api)
	r.SetIdleMinute(100 * time.Millisecond)

	s := placed("ses_idle", "app_idle", 0)
	s.ModifyIndex = 3
	if err := r.Reconcile(ctx, []client.Session{s}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_idle", "starting", ""}) {
		t.Fatalf("report %+v; want starting", got)
	}
	b, video := publishVideo(t, hub, "ses_idle")
	// A viewer of the video track from the start; the input track's
	// subscriber (the instance itself) never counts.
	viewer := video.Subscribe()
	input, err := b.CreateTrack(media.TrackInfo{Name: "input", Kind: media.KindInput}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer input.Subscribe().Close()
	if err := video.Append(media.Object{Keyframe: true, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_idle", "running", ""}) {
		t.Fatalf("report %+v; want running", got)
	}
	// Watched for three idle times: no idle report.
	select {
	case got := <-api.reports:
		t.Fatalf("report %+v while watched", got)
	case <-time.After(600 * time.Millisecond):
	}
	viewer.Close()
	if got := nextReport(ctx, t, api); got != (report{"ses_idle", "idle", ""}) {
		t.Fatalf("report %+v; want idle", got)
	}

	// Placed anew at a later index: the old instance stops, a new one
	// starts once it is gone.
	r.mu.Lock()
	old := r.inst["ses_idle"].in
	r.mu.Unlock()
	s.ModifyIndex = 9
	if err := r.Reconcile(ctx, []client.Session{s}); !errors.Is(err, errRestarting) {
		t.Fatalf("reconcile: %v; want errRestarting", err)
	}
	if err := old.Wait(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("old instance exit %v; want stopped by a signal", err)
	}
	for {
		err := r.Reconcile(ctx, []client.Session{s})
		if err == nil {
			break
		}
		if !errors.Is(err, errRestarting) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := nextReport(ctx, t, api); got != (report{"ses_idle", "starting", ""}) {
		t.Fatalf("report %+v; want starting again", got)
	}
	r.mu.Lock()
	fresh := r.inst["ses_idle"].in
	r.mu.Unlock()
	if fresh.ID() == old.ID() {
		t.Fatal("no fresh instance")
	}
}

// publishVideo publishes session's broadcast of tenant ten_a on hub with a
// video track, as the session's instance would.
func publishVideo(t *testing.T, hub *media.Hub, session string) (*media.Broadcast, *media.Track) {
	t.Helper()
	b, err := hub.Publish(media.Namespace{Tenant: "ten_a", Session: session})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := b.CreateTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b, tr
}

// newProcessRunner is edge-a's Runner with the process driver and a media
// hub, both closed when the test ends.
func newProcessRunner(t *testing.T, api *runtimeAPI) (*Runner, *media.Hub) {
	t.Helper()
	drv, err := runtime.NewProcess(runtime.ProcessOptions{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hub := media.NewHub(media.HubOptions{})
	t.Cleanup(hub.Close)
	r := NewRunner("edge-a", api, drv, hub, time.Second, nil)
	t.Cleanup(func() { _ = r.Close() })
	return r, hub
}
