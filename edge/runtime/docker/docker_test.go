package docker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/docker"
	"github.com/strata-edge/strata/edge/runtime/runtimetest"
	"github.com/strata-edge/strata/internal/poll"
)

// testNode is a node ID of this test process alone, so tests sharing an
// engine never judge each other's containers.
func testNode(t *testing.T) string {
	return fmt.Sprintf("test-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name())))
}

func newDriver(t *testing.T, cfg docker.Config) *docker.Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Hour // the tests sweep themselves
	}
	d, err := docker.New(ctx, cfg, docker.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func engine(t *testing.T, host string) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// handMade creates a container the way an operator or an earlier edge
// might have, removed when the test ends; with run set it is started,
// and with wait set too, waited for.
func handMade(ctx context.Context, t *testing.T, cli *client.Client, name, image string, args []string, labels map[string]string, run, wait bool) string {
	t.Helper()
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &container.Config{Image: image, Cmd: args, Labels: labels}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
	})
	if !run {
		return c.ID
	}
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	if wait {
		res := cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{})
		select {
		case <-res.Result:
		case err := <-res.Error:
			t.Fatal(err)
		}
	}
	return c.ID
}

// TestDockerConformance runs the drivers' conformance suite through the
// Docker Engine API; a second driver for the same node is a restarted
// edge.
func TestDockerConformance(t *testing.T) {
	host := runtimetest.DockerHost(t)
	image := runtimetest.ImportWorkload(t, host)
	node := testNode(t)
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Driver { return newDriver(t, docker.Config{NodeID: node, Host: host}) },
		Spec: func(session string, args ...string) runtime.Spec {
			return runtime.Spec{SessionID: session, TenantID: "ten_1", AppID: "app_1", Image: image, Args: args, PullPolicy: runtime.PullNever}
		},
	})
}

// A container's limits, labels, network and volume show in the engine's
// inspect output, and the session's volume outlives its container: the
// next instance of the session (after hibernate, wake) finds its file.
func TestDockerLimitsLabelsAndVolume(t *testing.T) {
	host := runtimetest.DockerHost(t)
	image := runtimetest.ImportWorkload(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := testNode(t)
	d := newDriver(t, docker.Config{NodeID: node, Host: host})
	cli := engine(t, host)
	spec := runtime.Spec{SessionID: "ses_vol", TenantID: "ten_1", AppID: "app_1", Image: image, Args: []string{"file", "/data/marker"},
		PullPolicy: runtime.PullNever, CPUMillis: 500, MemoryMB: 128, ShmMB: 32, Volume: "/data", Generation: 3}
	in, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	waitLogs(t, in, "created")
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("label", runtime.LabelSession+"=ses_vol", runtime.LabelNode+"="+node)})
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("containers of the session: %d, %v", len(res.Items), err)
	}
	insp, err := cli.ContainerInspect(ctx, res.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := insp.Container
	if r := c.HostConfig.Resources; r.NanoCPUs != 500_000_000 || r.Memory != 128<<20 {
		t.Errorf("inspect: NanoCpus %d, Memory %d; want 5e8 and 128 MiB", r.NanoCPUs, r.Memory)
	}
	if c.HostConfig.ShmSize != 32<<20 || c.HostConfig.NetworkMode != "host" {
		t.Errorf("inspect: ShmSize %d, NetworkMode %q", c.HostConfig.ShmSize, c.HostConfig.NetworkMode)
	}
	want := map[string]string{runtime.LabelSession: "ses_vol", runtime.LabelNode: node, runtime.LabelApp: "app_1", runtime.LabelGeneration: "3", runtime.LabelManaged: "true"}
	for k, v := range want {
		if c.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	t.Logf("inspect: NanoCpus=%d Memory=%d ShmSize=%d NetworkMode=%s Mounts=%v", c.HostConfig.NanoCPUs, c.HostConfig.Memory, c.HostConfig.ShmSize, c.HostConfig.NetworkMode, c.Mounts)
	if err := in.Stop(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	in2, err := d.Start(ctx, spec) // woken
	if err != nil {
		t.Fatal(err)
	}
	waitLogs(t, in2, "found")
	if err := in2.Stop(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.VolumeRemove(ctx, "strata-ses_vol", client.VolumeRemoveOptions{Force: true}); err != nil {
		t.Errorf("the session's volume: %v", err)
	}
}

// A missing image fails the start with a clear reason: at once under
// pull_policy never, after a failed pull under if_missing.
func TestDockerMissingImage(t *testing.T) {
	host := runtimetest.DockerHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := newDriver(t, docker.Config{NodeID: testNode(t), Host: host})
	for _, policy := range []string{runtime.PullNever, runtime.PullIfMissing} {
		_, err := d.Start(ctx, runtime.Spec{SessionID: "ses_missing", Image: "localhost/strata-no-such-image:1", PullPolicy: policy})
		if !errors.Is(err, docker.ErrImageMissing) || !strings.Contains(err.Error(), "localhost/strata-no-such-image:1") {
			t.Errorf("pull_policy %s: err %v; want ErrImageMissing naming the image", policy, err)
		}
	}
}

// A container with Strata labels for this node that no instance owns is
// removed once it is older than the grace, and not before; containers
// labelled for other nodes are left alone.
func TestDockerOrphanCleanup(t *testing.T) {
	host := runtimetest.DockerHost(t)
	image := runtimetest.ImportWorkload(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := testNode(t)
	cli := engine(t, host)
	mk := func(name, forNode string) string {
		labels := map[string]string{runtime.LabelManaged: "true", runtime.LabelNode: forNode, runtime.LabelSession: "ses_handmade", runtime.LabelInstance: name}
		return handMade(ctx, t, cli, name, image, []string{"env"}, labels, true, false)
	}
	orphan := mk(node+"-orphan", node)
	other := mk(node+"-other", node+"-elsewhere")
	exists := func(id string) bool {
		_, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		return err == nil
	}
	patient := newDriver(t, docker.Config{NodeID: node, Host: host, OrphanGrace: time.Hour})
	if _, err := patient.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	if err := patient.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if !exists(orphan) {
		t.Fatal("an orphan younger than the grace was removed")
	}
	_ = patient.Close(ctx)
	d := newDriver(t, docker.Config{NodeID: node, Host: host, OrphanGrace: time.Second})
	ins, err := d.Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins { // adopted (labelled as an instance): the runner would stop it as unassigned
		if err := in.Stop(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	poll.For(t, 30*time.Second, 100*time.Millisecond, func() error {
		if err := d.Sweep(ctx); err != nil {
			return err
		}
		if exists(orphan) {
			return errors.New("orphan still there")
		}
		return nil
	})
	if !exists(other) {
		t.Error("another node's container was removed")
	}
}

// A container without the instance label is not adopted, and the sweep
// removes it after the grace.
func TestDockerUnadoptableOrphan(t *testing.T) {
	host := runtimetest.DockerHost(t)
	image := runtimetest.ImportWorkload(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := testNode(t)
	cli := engine(t, host)
	id := handMade(ctx, t, cli, node+"-bare", image, []string{"env"}, map[string]string{runtime.LabelManaged: "true", runtime.LabelNode: node}, false, false)
	d := newDriver(t, docker.Config{NodeID: node, Host: host, OrphanGrace: time.Nanosecond})
	ins, err := d.Adopt(ctx)
	if err != nil || len(ins) != 0 {
		t.Fatalf("adopted %d, %v; want none", len(ins), err)
	}
	if err := d.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		t.Fatal("orphan still there after the sweep")
	}
}

func waitLogs(t *testing.T, in runtime.Instance, want string) {
	t.Helper()
	poll.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		if !strings.Contains(string(in.Logs()), want) {
			return fmt.Errorf("logs lack %q: %s", want, in.Logs())
		}
		return nil
	})
}

// Containers that stopped while the edge was away come back adopted and
// already ended: one that exited with its status, one created and never
// started with an unknown one; both are removed.
func TestDockerAdoptStopped(t *testing.T) {
	host := runtimetest.DockerHost(t)
	image := runtimetest.ImportWorkload(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := testNode(t)
	cli := engine(t, host)
	mk := func(session string, args []string, run bool) string {
		labels := map[string]string{runtime.LabelManaged: "true", runtime.LabelNode: node, runtime.LabelSession: session, runtime.LabelInstance: session + ".1"}
		return handMade(ctx, t, cli, node+"-"+strings.ReplaceAll(session, "_", "-"), image, args, labels, run, true)
	}
	exitedID := mk("ses_exited", []string{"exit", "3"}, true)
	createdID := mk("ses_created", []string{"env"}, false)
	d := newDriver(t, docker.Config{NodeID: node, Host: host})
	ins, err := d.Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]error{}
	for _, in := range ins {
		got[in.SessionID()] = in.Wait(ctx)
	}
	var ee *runtime.ExitError
	if err := got["ses_exited"]; !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("exited container: %v, want status 3", err)
	}
	if err := got["ses_created"]; !errors.As(err, &ee) || !ee.Unknown {
		t.Errorf("never-started container: %v, want an unknown status", err)
	}
	for _, id := range []string{exitedID, createdID} {
		if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
			t.Errorf("container %s not removed after adoption", id[:12])
		}
	}
}
