package origin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
)

// An app's container fields are stored and returned; those a process
// app cannot use are refused, naming the key.
func TestAppContainerFields(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "containers"})
	if err != nil {
		t.Fatal(err)
	}
	spec := api.AppSpec{TenantID: ten.ID, Name: "boxed", Runtime: api.RuntimeDocker, Image: "strata:local", CPUMillis: 500, MemoryMB: 256,
		ContainerFields: api.ContainerFields{Args: []string{"testsrc"}, ShmMB: 64, Volume: "/data"}}
	a, err := admin.Apps().Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := admin.Apps().Get(ctx, a.ID, api.Consistent)
	if err != nil || got.Runtime != api.RuntimeDocker || got.Args[0] != "testsrc" || got.ShmMB != 64 || got.Volume != "/data" || got.PullPolicy != api.PullIfMissing {
		t.Fatalf("app %+v (%v); want the container fields, pull_policy if_missing", got, err)
	}
	for _, tc := range []struct {
		key  string
		spec api.AppSpec
	}{
		{"volume", api.AppSpec{Runtime: api.RuntimeProcess, Command: []string{"x"}, ContainerFields: api.ContainerFields{Volume: "/data"}}},
		{"volume", api.AppSpec{Runtime: api.RuntimeDocker, Image: "i", ContainerFields: api.ContainerFields{Volume: "data/../x"}}},
		{"pull_policy", api.AppSpec{Runtime: api.RuntimeDocker, Image: "i", ContainerFields: api.ContainerFields{PullPolicy: "sometimes"}}},
		{"shm_mb", api.AppSpec{Runtime: api.RuntimeDocker, Image: "i", ContainerFields: api.ContainerFields{ShmMB: -1}}},
		{"image", api.AppSpec{Runtime: api.RuntimeDocker}},
	} {
		tc.spec.TenantID, tc.spec.Name = ten.ID, "bad"
		_, err := admin.Apps().Create(ctx, tc.spec)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != api.CodeInvalidArgument || !strings.Contains(ae.Message, tc.key) {
			t.Errorf("%+v: %v; want invalid_argument naming %s", tc.spec, err, tc.key)
		}
	}
}

// A session goes only to an edge that offers its app's runtime: with
// process edges alone a docker session waits, and the reason names the
// runtime filter; once an edge offering docker registers, it is placed
// there, and a process session still goes to the process edge.
func TestPlacementByRuntime(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "rt"})
	if err != nil {
		t.Fatal(err)
	}
	register := func(id string, runtimes ...api.Runtime) {
		t.Helper()
		lat, lon := 48.0, 2.0
		n, err := admin.Nodes().Register(ctx, api.NodeRegistration{ID: id, Region: "eu", Lat: &lat, Lon: &lon, NICMbps: 1000, Runtimes: runtimes})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Runtimes) != len(runtimes) {
			t.Fatalf("registered runtimes %v, want %v", n.Runtimes, runtimes)
		}
	}
	register("edge-proc")
	docker, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "d", Runtime: api.RuntimeDocker, Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "p", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: docker.ID, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	waitSession(ctx, t, admin, ds.ID, 10*time.Second, func(s *api.Session) error {
		if s.State != api.StatePending || !strings.Contains(s.Reason, "runtime 1") {
			return fmt.Errorf("session %s (%s); want pending, rejected by the runtime filter", s.State, s.Reason)
		}
		return nil
	})
	register("edge-docker", api.RuntimeDocker)
	waitSession(ctx, t, admin, ds.ID, 10*time.Second, func(s *api.Session) error {
		if s.State != api.StatePlaced || s.Reservation.NodeID != "edge-docker" {
			return fmt.Errorf("session %s (%s); want placed on edge-docker", s.State, s.Reason)
		}
		return nil
	})
	ps, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: proc.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitSession(ctx, t, admin, ps.ID, 10*time.Second, func(s *api.Session) error {
		if s.State != api.StatePlaced || s.Reservation.NodeID != "edge-proc" {
			return fmt.Errorf("session %s (%s); want placed on edge-proc", s.State, s.Reason)
		}
		return nil
	})
}

// A woken session of an app with a volume goes back to the edge that
// keeps its volume when that edge has room, even with a closer one; a
// session without a volume goes to the closest; and with the volume's
// edge draining, the volume session goes elsewhere.
func TestWakePrefersTheVolumesEdge(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "vol"})
	if err != nil {
		t.Fatal(err)
	}
	register := func(id string, lat, lon float64) {
		t.Helper()
		if _, err := admin.Nodes().Register(ctx, api.NodeRegistration{ID: id, Region: "eu", Lat: &lat, Lon: &lon, NICMbps: 1000, Runtimes: []api.Runtime{api.RuntimeDocker}}); err != nil {
			t.Fatal(err)
		}
	}
	register("edge-far", 10, 10)
	mkApp := func(name, volume string) string {
		t.Helper()
		a, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: name, Runtime: api.RuntimeDocker, Image: "img",
			ContainerFields: api.ContainerFields{Volume: volume}})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	lat, lon := 48.0, 2.0
	on := func(id, node string) {
		t.Helper()
		waitSession(ctx, t, admin, id, 10*time.Second, func(s *api.Session) error {
			if s.State != api.StatePlaced || s.Reservation == nil || s.Reservation.NodeID != node {
				return fmt.Errorf("session %s (%s) on %v; want placed on %s", s.State, s.Reason, s.Reservation, node)
			}
			return nil
		})
	}
	cycle := func(id, node string) { // run there, hibernate, wake
		t.Helper()
		for _, st := range []api.SessionState{api.StateStarting, api.StateRunning} {
			if _, err := admin.Sessions().ReportState(ctx, id, api.SessionStateReport{NodeID: node, State: st}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := admin.Sessions().Hibernate(ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Sessions().Wake(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	withVol, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: mkApp("vol", "/data"), Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: mkApp("plain", ""), Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	on(withVol.ID, "edge-far")
	on(plain.ID, "edge-far")
	register("edge-near", 48, 2)
	cycle(withVol.ID, "edge-far")
	cycle(plain.ID, "edge-far")
	on(withVol.ID, "edge-far")
	on(plain.ID, "edge-near")
	if _, err := admin.Nodes().Drain(ctx, "edge-far"); err != nil {
		t.Fatal(err)
	}
	cycle(withVol.ID, "edge-far")
	on(withVol.ID, "edge-near")
}
