package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
)

// report is one POST /v1/sessions/{id}/state the runner sent.
type report struct{ session, state, reason string }

// runtimeAPI answers the runner's calls: apps by ID, publisher tokens,
// and state reports, which it hands to the test.
type runtimeAPI struct {
	apps    map[string]api.App
	reports chan report
}

func (a *runtimeAPI) roundTrip(r *http.Request) (*http.Response, error) {
	ctx, path := r.Context(), r.URL.Path
	switch {
	case r.Method == "GET" && strings.HasPrefix(path, "/v1/apps/"):
		app, ok := a.apps[strings.TrimPrefix(path, "/v1/apps/")]
		if !ok {
			return answer(0, &api.Error{Status: 404, Code: api.CodeNotFound}), nil
		}
		return answer(1, app), nil
	case r.Method == "POST" && strings.HasSuffix(path, "/publishers"):
		return answer(1, api.PublisherAnswer{Token: "tok", MoQURL: "https://edge:4433/moq"}), nil
	case r.Method == "POST" && strings.HasSuffix(path, "/state"):
		var rep api.SessionStateReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			return nil, err
		}
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/sessions/"), "/state")
		select {
		case a.reports <- report{id, string(rep.State), rep.Reason}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return answer(1, api.Session{ID: id, State: rep.State}), nil
	case r.Method == "POST" && strings.HasSuffix(path, "/idle"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/sessions/"), "/idle")
		select {
		case a.reports <- report{id, "idle", ""}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return answer(1, api.Session{ID: id}), nil
	}
	return nil, fmt.Errorf("unexpected %s %s", r.Method, path)
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

func placed(id, app string, gpu int64) api.Session {
	return api.Session{
		ID: id, TenantID: "ten_a", AppID: app, State: api.StatePlaced,
		Reservation: &api.Reservation{NodeID: "edge-a", GPUs: []api.GPUSlice{{Index: gpu}}},
	}
}

func TestRunnerFailedRunningAndStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	origins := &runtimeAPI{reports: make(chan report, 16), apps: map[string]api.App{
		"app_crash": {Runtime: "process", Command: []string{"/bin/sh", "-c", "echo boom >&2; exit 7"}},
		"app_ok":    {Runtime: "process", Command: []string{"/bin/sh", "-c", "sleep 600 & wait $!"}},
	}}
	r, hub := newProcessRunner(t, origins)

	crash := placed("ses_crash", "app_crash", 0)
	if err := r.Reconcile(ctx, []api.Session{crash}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_crash", "starting", ""}) {
		t.Fatalf("first report %+v", got)
	}
	got := nextReport(ctx, t, origins)
	if got.session != "ses_crash" || got.state != "failed" || !strings.Contains(got.reason, "status 7") {
		t.Fatalf("report %+v; want failed with status 7", got)
	}

	// The stale assignment of the failed session does not restart it.
	ok := placed("ses_ok", "app_ok", 1)
	if err := r.Reconcile(ctx, []api.Session{crash, ok}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_ok", "starting", ""}) {
		t.Fatalf("report %+v; want ses_ok starting", got)
	}

	// The first keyframe on the session's video track makes it running.
	_, tr := publishVideo(t, hub, "ses_ok")
	if err := tr.Append(media.Object{Keyframe: true, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_ok", "running", ""}) {
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
	case got := <-origins.reports:
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
	origins := &runtimeAPI{reports: make(chan report, 16), apps: map[string]api.App{
		"app_idle": {Runtime: "process", Command: []string{"/bin/sh", "-c", "sleep 600 & wait $!"}, IdlePolicy: "hibernate", IdleMinutes: 2},
	}}
	r, hub := newProcessRunner(t, origins)
	r.SetIdleMinute(100 * time.Millisecond)

	s := placed("ses_idle", "app_idle", 0)
	s.ModifyIndex = 3
	if err := r.Reconcile(ctx, []api.Session{s}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_idle", "starting", ""}) {
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
	if got := nextReport(ctx, t, origins); got != (report{"ses_idle", "running", ""}) {
		t.Fatalf("report %+v; want running", got)
	}
	// Watched for three idle times: no idle report.
	select {
	case got := <-origins.reports:
		t.Fatalf("report %+v while watched", got)
	case <-time.After(600 * time.Millisecond):
	}
	viewer.Close()
	if got := nextReport(ctx, t, origins); got != (report{"ses_idle", "idle", ""}) {
		t.Fatalf("report %+v; want idle", got)
	}

	// Placed anew at a later index: the old instance stops, a new one
	// starts once it is gone.
	r.mu.Lock()
	old := r.inst["ses_idle"].in
	r.mu.Unlock()
	s.ModifyIndex = 9
	if err := r.Reconcile(ctx, []api.Session{s}); !errors.Is(err, errRestarting) {
		t.Fatalf("reconcile: %v; want errRestarting", err)
	}
	if err := old.Wait(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("old instance exit %v; want stopped by a signal", err)
	}
	dl, _ := ctx.Deadline()
	poll.For(t, time.Until(dl), 10*time.Millisecond, func() error {
		err := r.Reconcile(ctx, []api.Session{s})
		if err != nil && !errors.Is(err, errRestarting) {
			t.Fatal(err)
		}
		return err
	})
	if got := nextReport(ctx, t, origins); got != (report{"ses_idle", "starting", ""}) {
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
func newProcessRunner(t *testing.T, origins *runtimeAPI) (*Runner, *media.Hub) {
	t.Helper()
	// The instances may run as another user (nobody, under root), who
	// must pass through go test's 0700 temporary directory.
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	drv, err := runtime.NewProcess(runtime.ProcessConfig{StateDir: dir}, runtime.ProcessDeps{})
	if err != nil {
		t.Fatal(err)
	}
	hub := media.NewHub(media.HubOptions{})
	t.Cleanup(hub.Close)
	r, err := NewRunner(RunnerConfig{NodeID: "edge-a", StopGrace: time.Second}, RunnerDeps{API: fakeClient(origins.roundTrip), Driver: drv, Hub: hub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r, hub
}

// A command that cannot start fails the session with a reason that names
// the edge, the command and what to check.
func TestRunnerStartFailureSaysWhy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	origins := &runtimeAPI{reports: make(chan report, 16), apps: map[string]api.App{
		"app_missing": {Runtime: "process", Command: []string{"/nonexistent/strata-game"}},
	}}
	r, _ := newProcessRunner(t, origins)
	if err := r.Reconcile(ctx, []api.Session{placed("ses_missing", "app_missing", 0)}); err != nil {
		t.Fatal(err)
	}
	for {
		got := nextReport(ctx, t, origins)
		if got.state != "failed" {
			continue
		}
		for _, want := range []string{"edge edge-a could not start the app's command", "--command", "/nonexistent/strata-game"} {
			if !strings.Contains(got.reason, want) {
				t.Errorf("reason %q lacks %q", got.reason, want)
			}
		}
		return
	}
}
