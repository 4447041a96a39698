package edge

import (
	"context"
	"encoding/json"
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
	drv, err := runtime.NewProcess(runtime.ProcessOptions{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hub := media.NewHub(media.HubOptions{})
	defer hub.Close()
	r := NewRunner("edge-a", api, drv, hub, time.Second, nil)
	defer r.Close()

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
	b, err := hub.Publish(media.Namespace{Tenant: "ten_a", Session: "ses_ok"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := b.CreateTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
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
