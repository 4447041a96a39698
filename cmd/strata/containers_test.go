package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/runtimetest"
	"github.com/strata-edge/strata/internal/containerimage"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// lockedBuffer collects a child's output for the test to search.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBinaryDockerSessions is the container runtime end to end, through
// a real Docker Engine API (Podman's here), with the real binary as
// origin, edge and, in an image made from it, the session's instance
// (`strata testsrc`): a viewer gets a keyframe; CPU and memory limits
// show in the container's inspect output; hibernate and wake keep the
// session's volume; after a SIGKILL the restarted edge adopts the
// running container instead of starting another; a hand-made container
// with Strata labels is removed after the orphan grace; a missing image
// fails its session with a clear reason; and a terminated session's
// volume is removed.
func TestBinaryDockerSessions(t *testing.T) {
	host := runtimetest.DockerHost(t)
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "strata")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static: it runs in an image of its own
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	image := fmt.Sprintf("localhost/strata-e2e:%d", os.Getpid())
	if err := containerimage.Import(ctx, host, image, bin); err != nil {
		t.Fatal(err)
	}
	eng, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	t.Cleanup(func() { _, _ = eng.ImageRemove(context.Background(), image, client.ImageRemoveOptions{Force: true}) })

	const token = "docker-e2e-admin-token-0123456789abcdef"
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // test-only gossip key
	start := func(name string, out *lockedBuffer, env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stderr = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		return cmd
	}
	ports := freeAddrs(t, 4)
	start("o1", &lockedBuffer{}, nil, "origin", "--id", "o1", "--data-dir", filepath.Join(dir, "o1"), "--bootstrap",
		"--api-addr", ports[0], "--raft-addr", ports[1], "--gossip-addr", ports[2],
		"--admin-token", token, "--gossip-key", key, "--gossip-profile", "local", "--log-level", "warn")
	trust, join := joinBootstrap(t, filepath.Join(dir, "o1", "pki", "ca.crt"), ports[0], token, api.RoleEdge)
	node := fmt.Sprintf("e2e-%d", os.Getpid())
	edgeArgs := []string{"edge", "--id", node, "--data-dir", filepath.Join(dir, "e1"),
		"--join", ports[0], "--ca-fingerprint", join.CAFingerprint, "--region", "eu", "--gpus", "none", "--nic-mbps", "1000",
		"--gossip-addr", ports[3], "--gossip-key", key, "--gossip-profile", "local", "--log-level", "info",
		"--media-quic-addr", "127.0.0.1:0", "--media-http-addr", "127.0.0.1:0", "--media-webrtc-addr", "127.0.0.1:0",
		"--runtime-state-dir", filepath.Join(dir, "e1", "runtime"), "--runtimes", "docker",
		"--docker-host", host, "--docker-orphan-grace", "3s", "--runtime-stop-grace", "2s"}
	edgeLog := &lockedBuffer{}
	edgeProc := start("e1", edgeLog, []string{"STRATA_TOKEN=" + join.Token}, edgeArgs...)

	admin := api.New(token, ports[0]).WithTLS(trust)
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "containers"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "testsrc", Runtime: api.RuntimeDocker, Image: image,
		CPUMillis: 500, MemoryMB: 256, EgressMbps: 5,
		ContainerFields: api.ContainerFields{Args: []string{"testsrc"}, Volume: "/data", PullPolicy: api.PullNever, ShmMB: 64}})
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 60*time.Second, 100*time.Millisecond, func() error {
		n, err := admin.Nodes().Get(ctx, node, "")
		if err != nil {
			return err
		}
		if len(n.Runtimes) != 1 || n.Runtimes[0] != api.RuntimeDocker {
			return fmt.Errorf("edge advertises runtimes %v", n.Runtimes)
		}
		return nil
	})
	ses, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitState := func(want api.SessionState, d time.Duration) *api.Session {
		t.Helper()
		var got *api.Session
		poll.For(t, d, 50*time.Millisecond, func() error {
			s, err := admin.Sessions().Get(ctx, ses.ID, "")
			if err != nil {
				return err
			}
			got = s
			if s.State != want {
				return fmt.Errorf("session %s (%s), want %s\nedge log tail:\n%s", s.State, s.Reason, want, tail(edgeLog.String(), 2000))
			}
			return nil
		})
		return got
	}
	keyframe := func(what string) {
		t.Helper()
		wctx, stop := context.WithTimeout(ctx, 60*time.Second)
		defer stop()
		frames, wait := testcluster.WatchSession(wctx, admin, ten.ID, ses.ID)
		defer wait()
		for {
			select {
			case f := <-frames:
				if f.Keyframe {
					return
				}
			case <-wctx.Done():
				t.Fatalf("%s: no keyframe at a viewer", what)
			}
		}
	}
	containers := func() []container.Summary {
		t.Helper()
		res, err := eng.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("label", runtime.LabelSession+"="+ses.ID)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Items
	}

	waitState(api.StateRunning, 90*time.Second)
	keyframe("first start")
	cs := containers()
	if len(cs) != 1 {
		t.Fatalf("%d containers of the session, want 1", len(cs))
	}
	first := cs[0].ID
	insp, err := eng.ContainerInspect(ctx, first, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.Container.HostConfig
	t.Logf("container inspect: NanoCpus=%d Memory=%d ShmSize=%d NetworkMode=%s Labels=%v", hc.NanoCPUs, hc.Memory, hc.ShmSize, hc.NetworkMode, insp.Container.Config.Labels)
	if hc.NanoCPUs != 500_000_000 || hc.Memory != 256<<20 || hc.NetworkMode != "host" {
		t.Errorf("inspect: NanoCpus %d, Memory %d, network %s; want 0.5 CPU, 256 MiB, host", hc.NanoCPUs, hc.Memory, hc.NetworkMode)
	}

	// The volume: a marker written into it survives hibernate and wake.
	vol, err := eng.VolumeInspect(ctx, "strata-"+ses.ID, client.VolumeInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(vol.Volume.Mountpoint, "marker")
	if err := os.WriteFile(marker, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Sessions().Hibernate(ctx, ses.ID, "test"); err != nil {
		t.Fatal(err)
	}
	waitState(api.StateHibernated, 60*time.Second)
	poll.For(t, 30*time.Second, 100*time.Millisecond, func() error {
		if n := len(containers()); n != 0 {
			return fmt.Errorf("%d containers of the hibernated session", n)
		}
		return nil
	})
	if _, err := admin.Sessions().Wake(ctx, ses.ID); err != nil {
		t.Fatal(err)
	}
	waitState(api.StateRunning, 90*time.Second)
	keyframe("after wake")
	if b, err := os.ReadFile(marker); err != nil || string(b) != "kept" {
		t.Fatalf("the volume's marker after wake: %q, %v", b, err)
	}
	cs = containers()
	if len(cs) != 1 || len(cs[0].Mounts) != 1 || cs[0].Mounts[0].Name != "strata-"+ses.ID || cs[0].Mounts[0].Destination != "/data" {
		t.Fatalf("woken container's mounts: %+v", cs)
	}
	running := cs[0].ID

	// SIGKILL the edge: the container keeps running, and the restarted
	// edge adopts it rather than starting another.
	if err := edgeProc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = edgeProc.Wait()
	if cs := containers(); len(cs) != 1 || cs[0].ID != running {
		t.Fatalf("after the SIGKILL: %d containers; want the session's one still running", len(cs))
	}
	edgeLog2 := &lockedBuffer{}
	start("e1 again", edgeLog2, []string{"STRATA_TOKEN=" + join.Token}, edgeArgs...)
	poll.For(t, 60*time.Second, 100*time.Millisecond, func() error {
		if !strings.Contains(edgeLog2.String(), "adopted container from an earlier edge process") {
			return errors.New("the restarted edge has not adopted the container")
		}
		return nil
	})
	if !strings.Contains(edgeLog2.String(), shortContainerID(running)) {
		t.Errorf("adopted another container than %s:\n%s", shortContainerID(running), tail(edgeLog2.String(), 2000))
	}
	for _, c := range containers() {
		if c.ID != running && c.Created < time.Now().Add(-time.Minute).Unix() {
			t.Errorf("container %s left over", c.ID)
		}
	}

	// A hand-made container with Strata labels for this edge goes after
	// the grace.
	orphan, err := eng.ContainerCreate(ctx, client.ContainerCreateOptions{Name: node + "-handmade",
		Config: &container.Config{Image: image, Cmd: []string{"version"}, Labels: map[string]string{runtime.LabelManaged: "true", runtime.LabelNode: node}}})
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 60*time.Second, 200*time.Millisecond, func() error {
		if _, err := eng.ContainerInspect(ctx, orphan.ID, client.ContainerInspectOptions{}); err == nil {
			return errors.New("hand-made container still there")
		}
		return nil
	})

	// A missing image fails its session, saying why.
	missing, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "missing", Runtime: api.RuntimeDocker,
		Image: "localhost/strata-no-such-image:1", RestartPolicy: api.RestartNever, EgressMbps: 1,
		ContainerFields: api.ContainerFields{PullPolicy: api.PullNever}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: missing.ID})
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 60*time.Second, 100*time.Millisecond, func() error {
		s, err := admin.Sessions().Get(ctx, ms.ID, "")
		if err != nil {
			return err
		}
		if s.State != api.StateFailed || !strings.Contains(s.Reason, "image missing") || !strings.Contains(s.Reason, "strata-no-such-image") {
			return fmt.Errorf("session %s (%s); want failed naming the missing image", s.State, s.Reason)
		}
		t.Logf("missing image: %s", s.Reason)
		return nil
	})

	// Terminated, the session's container and volume go.
	if _, err := admin.Sessions().Terminate(ctx, ses.ID, "done"); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 60*time.Second, 200*time.Millisecond, func() error {
		if n := len(containers()); n != 0 {
			return fmt.Errorf("%d containers of the terminated session", n)
		}
		if _, err := eng.VolumeInspect(ctx, "strata-"+ses.ID, client.VolumeInspectOptions{}); err == nil {
			return errors.New("the terminated session's volume is still there")
		}
		return nil
	})
}

func shortContainerID(id string) string { return id[:min(12, len(id))] }
