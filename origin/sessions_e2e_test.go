package origin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// Sessions end to end on loopback: real edges with the media plane and
// the process runtime, whose instances are this test binary publishing
// the test clip (TestMain), and viewers that play over MoQ the way a
// player does.

// frame is one video object a viewer received.
type frame = testcluster.Frame

// watchSession plays a session's video as a player does, routing again
// when the session moves.
func watchSession(ctx context.Context, cl *api.Client, tenant, session string) (<-chan frame, func()) {
	return testcluster.WatchSession(ctx, cl, tenant, session)
}

// nextKeyframe returns the first keyframe received at or after since
// (from edge notEdge excluded when set).
func nextKeyframe(t *testing.T, frames <-chan frame, since time.Time, notEdge string, d time.Duration) frame {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-frames:
			if f.Keyframe && !f.At.Before(since) && (notEdge == "" || f.Edge != notEdge) {
				return f
			}
		case <-deadline:
			t.Fatalf("no keyframe at the viewer within %s", d)
		}
	}
}

// mediaEdge is an edge spec with the media plane and the runtime on.
func mediaEdge(t *testing.T, id string, lat, lon float64) testcluster.EdgeSpec {
	s := testcluster.EdgeSpec{ID: id, Region: "eu", Lat: lat, Lon: lon,
		Runtime: edge.RuntimeConfig{StateDir: t.TempDir(), StopGrace: 2 * time.Second, IdleMinute: 300 * time.Millisecond}}
	s.Media.QUICAddr, s.Media.HTTPAddr, s.Media.WebRTCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	return s
}

// waitSession polls a session until ok accepts it.
func waitSession(ctx context.Context, t *testing.T, cl *api.Client, id string, d time.Duration, ok func(s *api.Session) error) *api.Session {
	t.Helper()
	var got *api.Session
	poll.For(t, d, 20*time.Millisecond, func() error {
		s, err := cl.Sessions().Get(ctx, id, "")
		if err != nil {
			return err
		}
		got = s
		return ok(s)
	})
	return got
}

func inState(want api.SessionState) func(s *api.Session) error {
	return func(s *api.Session) error {
		if s.State != want {
			return fmt.Errorf("session %s is %s (%s), want %s", s.ID, s.State, s.Reason, want)
		}
		return nil
	}
}

// wantCode checks that err is an API error with the given status and code.
func wantCode(t *testing.T, what string, err error, status int, code api.Code) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Errorf("%s: err = %v; want %d %s", what, err, status, code)
	}
}

func TestSessionsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	c := startCluster(t, 1)
	specs := []testcluster.EdgeSpec{mediaEdge(t, "edge-a", 48.8, 2.3), mediaEdge(t, "edge-b", 50.1, 8.7)}
	if _, err := c.StartEdges(2, func(i int) testcluster.EdgeSpec { return specs[i] }); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-a", "edge-b"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "backend"})
	if err != nil {
		t.Fatal(err)
	}
	cl := admin.WithToken(key.Token)
	cmd, env, err := testcluster.InstanceApp(ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	mkApp := func(name string, restart api.RestartPolicy, idle api.IdlePolicy, gpus int64) *api.App {
		t.Helper()
		spec := api.AppSpec{Name: name, Command: cmd, Env: env, GPUs: gpus, EgressMbps: 5, RestartPolicy: restart}
		if idle != "" {
			spec.IdlePolicy, spec.IdleMinutes = idle, 1
		}
		a, err := cl.Apps().Create(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	game := mkApp("game", "", "", 1)
	lat, lon := 48.85, 2.35

	// POST /v1/sessions → the first keyframe at a MoQ viewer.
	start := time.Now()
	ses, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: game.ID, Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWatching := context.WithCancel(ctx)
	frames, waitViewer := watchSession(wctx, cl, ten.ID, ses.ID)
	defer func() { stopWatching(); waitViewer() }()
	first := nextKeyframe(t, frames, start, "", 30*time.Second)
	t.Logf("create → first keyframe at the viewer: %v (edge %s)", first.At.Sub(start).Round(time.Millisecond), first.Edge)
	ses = waitSession(ctx, t, cl, ses.ID, 10*time.Second, inState("running"))
	home := ses.Reservation.NodeID

	// Invalid transitions are refused with a JSON error code.
	_, err = cl.Sessions().Wake(ctx, ses.ID)
	wantCode(t, "wake a running session", err, 409, "invalid_state_transition")

	// Hibernate frees the edge; wake places the session again and the
	// viewer gets frames again.
	hib, err := cl.Sessions().Hibernate(ctx, ses.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if hib.State != "hibernated" || hib.Reservation != nil {
		t.Fatalf("hibernated session: %s, reservation %+v", hib.State, hib.Reservation)
	}
	_, err = cl.Sessions().Hibernate(ctx, ses.ID, "")
	wantCode(t, "hibernate a hibernated session", err, 409, "invalid_state_transition")
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := testcluster.EdgeStatuses(ctx, admin)
		if err != nil {
			return err
		}
		if n := st[home].Reserved.Sessions; n != 0 {
			return fmt.Errorf("%s still holds %d sessions", home, n)
		}
		return nil
	})
	woken := time.Now()
	wk, err := cl.Sessions().Wake(ctx, ses.ID)
	if err != nil {
		t.Fatal(err)
	}
	if wk.Reservation == nil {
		t.Fatalf("woken session is %s (%s), want placed", wk.State, wk.Reason)
	}
	f := nextKeyframe(t, frames, woken, "", 30*time.Second)
	t.Logf("wake → first keyframe at the viewer: %v", f.At.Sub(woken).Round(time.Millisecond))
	ses = waitSession(ctx, t, cl, ses.ID, 10*time.Second, inState("running"))
	home = ses.Reservation.NodeID

	// A second session whose app never restarts, on the same edge.
	never := mkApp("never", "never", "", 0)
	nses, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: never.ID, Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	if nses.Reservation == nil || nses.Reservation.NodeID != home {
		t.Fatalf("never-restart session placed on %+v, want %s", nses.Reservation, home)
	}

	// Killing the edge re-places the session; the re-routed viewer gets
	// frames from the other edge. The never-restart session fails.
	killed := time.Now()
	if err := c.KillEdge(home); err != nil {
		t.Fatal(err)
	}
	f = nextKeyframe(t, frames, killed, home, 60*time.Second)
	t.Logf("edge kill → first keyframe at the re-routed viewer: %v (edge %s)", f.At.Sub(killed).Round(time.Millisecond), f.Edge)
	ses = waitSession(ctx, t, cl, ses.ID, 20*time.Second, inState("running"))
	if ses.Reservation.NodeID == home {
		t.Fatalf("session still on the dead edge %s", home)
	}
	waitSession(ctx, t, cl, nses.ID, 20*time.Second, func(s *api.Session) error {
		if s.State != "failed" || !strings.Contains(s.Reason, home) {
			return fmt.Errorf("never-restart session is %s (%s); want failed naming %s", s.State, s.Reason, home)
		}
		return nil
	})
	stopWatching()
	waitViewer()

	t.Run("restart policy on instance exit", func(t *testing.T) {
		for _, tc := range []struct {
			restart api.RestartPolicy
			script  string
			state   api.SessionState
			reason  string
		}{
			{api.RestartNever, "exit 3", api.StateFailed, "status 3"},
			{api.RestartOnFailure, "exit 0", api.StateTerminated, "status 0"},
			{api.RestartAlways, "exit 0", api.StateFailed, "not restarted after 10 placements"},
		} {
			a, err := cl.Apps().Create(ctx, api.AppSpec{Name: "exit-" + string(tc.restart), Command: []string{"/bin/sh", "-c", tc.script}, RestartPolicy: tc.restart})
			if err != nil {
				t.Fatal(err)
			}
			s, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			waitSession(ctx, t, cl, s.ID, 60*time.Second, func(s *api.Session) error {
				if s.State != tc.state || !strings.Contains(s.Reason, tc.reason) {
					return fmt.Errorf("%s: %s (%s); want %s with %q", tc.restart, s.State, s.Reason, tc.state, tc.reason)
				}
				return nil
			})
		}
	})

	t.Run("idle policy", func(t *testing.T) {
		// idle_minutes 1 at the edges' test minute of 300 ms.
		hib := mkApp("idle-hibernate", "", "hibernate", 0)
		s, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: hib.ID})
		if err != nil {
			t.Fatal(err)
		}
		// Watched, it stays running past its idle time.
		vctx, stopV := context.WithCancel(ctx)
		fr, waitV := watchSession(vctx, cl, ten.ID, s.ID)
		nextKeyframe(t, fr, time.Time{}, "", 30*time.Second)
		waitSession(ctx, t, cl, s.ID, 10*time.Second, inState("running"))
		watched := time.Now()
		for time.Since(watched) < 1500*time.Millisecond {
			<-fr
		}
		if got, err := cl.Sessions().Get(ctx, s.ID, ""); err != nil || got.State != "running" {
			t.Fatalf("watched session: %v %+v", err, got)
		}
		stopV()
		waitV()
		// Unwatched, it hibernates.
		waitSession(ctx, t, cl, s.ID, 20*time.Second, func(s *api.Session) error {
			if s.State != "hibernated" || !strings.HasPrefix(s.Reason, "idle") {
				return fmt.Errorf("unwatched session is %s (%s); want hibernated for idleness", s.State, s.Reason)
			}
			return nil
		})

		term := mkApp("idle-terminate", "", "terminate", 0)
		s, err = cl.Sessions().Create(ctx, api.SessionSpec{AppID: term.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitSession(ctx, t, cl, s.ID, 30*time.Second, func(s *api.Session) error {
			if s.State != "terminated" || !strings.HasPrefix(s.Reason, "idle") {
				return fmt.Errorf("session is %s (%s); want terminated for idleness", s.State, s.Reason)
			}
			return nil
		})
	})

	t.Run("wake without capacity", func(t *testing.T) {
		// Only one edge, one GPU left: the running session holds it.
		blocker, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: game.ID})
		if err != nil {
			t.Fatal(err)
		}
		if blocker.State != "pending" {
			t.Fatalf("blocker is %s; want pending (no GPU free)", blocker.State)
		}
		if _, err := cl.Sessions().Hibernate(ctx, ses.ID, ""); err != nil {
			t.Fatal(err)
		}
		// The freed GPU goes to the waiting session; the woken one waits.
		waitSession(ctx, t, cl, blocker.ID, 20*time.Second, func(s *api.Session) error {
			if s.Reservation == nil {
				return fmt.Errorf("blocker is %s (%s)", s.State, s.Reason)
			}
			return nil
		})
		wk, err := cl.Sessions().Wake(ctx, ses.ID)
		if err != nil {
			t.Fatal(err)
		}
		if wk.State != "pending" || wk.Reason == "" {
			t.Fatalf("woken without capacity: %s (%q); want pending with a reason", wk.State, wk.Reason)
		}
		if _, err := cl.Sessions().Terminate(ctx, blocker.ID, ""); err != nil {
			t.Fatal(err)
		}
		waitSession(ctx, t, cl, ses.ID, 30*time.Second, inState("running"))
	})

	t.Run("quota", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			quota api.Quota
			gpus  int64
		}{
			{"sessions", api.Quota{MaxSessions: 1}, 0},
			{"gpus", api.Quota{MaxGPUs: 1}, 1},
			{"egress", api.Quota{MaxEgressMbps: 5}, 0},
		} {
			qt, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "quota-" + tc.name, Quota: &tc.quota})
			if err != nil {
				t.Fatal(err)
			}
			a, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: qt.ID, Name: "q", Command: []string{"sleep", "60"}, GPUs: tc.gpus, EgressMbps: 5})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: qt.ID, AppID: a.ID}); err != nil {
				t.Fatalf("%s: first session: %v", tc.name, err)
			}
			before, err := testcluster.EdgeStatuses(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			_, err = admin.Sessions().Create(ctx, api.SessionSpec{TenantID: qt.ID, AppID: a.ID})
			wantCode(t, tc.name+" quota", err, 403, "quota_exceeded")
			l, err := admin.Sessions().Page(ctx, api.SessionFilter{TenantID: qt.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != 1 {
				t.Errorf("%s: tenant holds %d sessions after a refused create, want 1", tc.name, len(l.Items))
			}
			after, err := testcluster.EdgeStatuses(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			for id, n := range after {
				if n.Reserved.Sessions > before[id].Reserved.Sessions {
					t.Errorf("%s: %s reserved %d sessions after a refused create, had %d", tc.name, id, n.Reserved.Sessions, before[id].Reserved.Sessions)
				}
			}
		}
	})
}

// maxGapAfterLeaderLoss is the longest pause a viewer may see while the
// origin leader dies: the media plane does not depend on the control
// plane, so anything near this is a bug (frames come every ~33 ms).
const maxGapAfterLeaderLoss = time.Second

func TestSessionsLeaderLossNoMediaGap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := startCluster(t, 3)
	if _, err := c.StartEdge(mediaEdge(t, "edge-a", 48.8, 2.3)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-a"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "gap"})
	if err != nil {
		t.Fatal(err)
	}
	cmd, env, err := testcluster.InstanceApp(ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "game", Command: cmd, Env: env, GPUs: 1, EgressMbps: 5})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	frames, wait := watchSession(wctx, admin, ten.ID, ses.ID)
	defer func() { stop(); wait() }()
	nextKeyframe(t, frames, time.Time{}, "", 30*time.Second)
	waitSession(ctx, t, admin, ses.ID, 10*time.Second, inState("running"))

	// Measure gaps from a second before the kill until two seconds after
	// a new leader was elected.
	last := time.Now()
	var maxGap time.Duration
	var received int
	read := func(until time.Time) {
		for time.Now().Before(until) {
			select {
			case f := <-frames:
				maxGap = max(maxGap, f.At.Sub(last))
				last = f.At
				received++
			case <-time.After(time.Until(until)):
			}
		}
		// A stall still running at the end counts too.
		maxGap = max(maxGap, time.Since(last))
	}
	read(time.Now().Add(time.Second))
	old := c.Leader()
	if old < 0 {
		t.Fatal("no leader")
	}
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var elected time.Time
	for elected.IsZero() {
		read(time.Now().Add(50 * time.Millisecond))
		if l := c.Leader(); l >= 0 && l != old {
			elected = time.Now()
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatal("no new leader in 30s")
		}
	}
	read(elected.Add(2 * time.Second))
	t.Logf("leader %d killed; new leader after %v; %d frames, max gap %v", old, elected.Sub(killed).Round(time.Millisecond), received, maxGap.Round(time.Millisecond))
	if maxGap > maxGapAfterLeaderLoss {
		t.Fatalf("viewer saw a %v gap across the leader loss; want ≤ %v", maxGap, maxGapAfterLeaderLoss)
	}
	// The control plane still works: the session is intact.
	waitSession(ctx, t, admin, ses.ID, 10*time.Second, inState("running"))
}
