package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/internal/poll"
)

const node = "edge-1"

func newDriver(t *testing.T, k *kubelet, cfg Config) *Driver {
	t.Helper()
	cfg.NodeID, cfg.NodeName = node, "worker-7"
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Hour // tests call Sweep themselves
	}
	d, err := New(context.Background(), cfg, Deps{Client: k.cs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func spec(session string) runtime.Spec {
	return runtime.Spec{SessionID: session, TenantID: "ten_1", AppID: "app_1", Image: "reg.example/app:1", Generation: 3}
}

func edgePod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "strata-edge-x1", Namespace: "default", UID: "uid-edge"}}
}

// The Pod carries the app and the session: image, command, environment
// (the session's variables win), limits, GPUs by CDI annotation, the
// edge's node, labels, an owner reference to the edge's Pod, no kubelet
// restarts, host networking and a memory-backed /dev/shm.
func TestPodSpec(t *testing.T) {
	k := newKubelet(t, edgePod())
	d := newDriver(t, k, Config{OwnerPod: "strata-edge-x1"})
	ctx := testCtx(t)
	s := spec("ses_Spec")
	s.Command, s.Args = []string{"/app"}, []string{"--hd"}
	s.Env = map[string]string{"APP_VAR": "x", runtime.EnvSessionID: "forged"}
	s.PublishToken = "tok"
	s.GPUs = []runtime.GPU{{Index: 2}, {Index: 5}}
	s.CPUMillis, s.MemoryMB, s.ShmMB = 1500, 512, 256
	s.PullPolicy = runtime.PullNever
	in, err := d.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	p := k.pod(podName(in.ID()))
	if p == nil {
		t.Fatalf("no pod %s", podName(in.ID()))
	}
	if !strings.HasPrefix(p.Name, "strata-ses-spec.") {
		t.Errorf("pod name %q", p.Name)
	}
	want := map[string]string{runtime.LabelManaged: "true", runtime.LabelSession: "ses_Spec", runtime.LabelNode: node,
		runtime.LabelApp: "app_1", runtime.LabelGeneration: "3", runtime.LabelInstance: in.ID()}
	for k, v := range want {
		if p.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], v)
		}
	}
	if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != "uid-edge" || p.OwnerReferences[0].Kind != "Pod" {
		t.Errorf("owner references %+v", p.OwnerReferences)
	}
	if p.Spec.NodeName != "worker-7" || p.Spec.RestartPolicy != corev1.RestartPolicyNever || !p.Spec.HostNetwork {
		t.Errorf("node %q restart %q host network %v", p.Spec.NodeName, p.Spec.RestartPolicy, p.Spec.HostNetwork)
	}
	if got := p.Annotations[cdiAnnotation]; got != "nvidia.com/gpu=2,nvidia.com/gpu=5" {
		t.Errorf("CDI annotation %q", got)
	}
	c := p.Spec.Containers[0]
	if c.Image != s.Image || c.Command[0] != "/app" || c.Args[0] != "--hd" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("container %+v", c)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{runtime.EnvSessionID: "ses_Spec", runtime.EnvPublishToken: "tok", "APP_VAR": "x",
		runtime.EnvCUDADevices: "0,1", runtime.EnvNVDevices: "2,5", runtime.EnvNVCapabilities: runtime.NVCapabilities} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if q := c.Resources.Limits[corev1.ResourceCPU]; q.MilliValue() != 1500 {
		t.Errorf("cpu limit %s", q.String())
	}
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.Value() != 512<<20 {
		t.Errorf("memory limit %s", q.String())
	}
	if _, ok := c.Resources.Limits[gpuResource]; ok {
		t.Error("CDI mode also asks the device plugin for GPUs")
	}
	shm := p.Spec.Volumes[0].EmptyDir
	if shm == nil || shm.Medium != corev1.StorageMediumMemory || shm.SizeLimit.Cmp(resource.MustParse("256Mi")) != 0 ||
		c.VolumeMounts[0].MountPath != "/dev/shm" {
		t.Errorf("shm volume %+v mounts %+v", p.Spec.Volumes, c.VolumeMounts)
	}
	if err := in.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
}

// With gpus: resource the device plugin gets an nvidia.com/gpu limit of
// the reservation's size and sets NVIDIA_VISIBLE_DEVICES itself.
func TestPodSpecGPUResource(t *testing.T) {
	k := newKubelet(t)
	d := newDriver(t, k, Config{GPUs: GPUsResource, Network: NetworkPod})
	s := spec("ses_res")
	s.GPUs = []runtime.GPU{{Index: 1}, {Index: 3}}
	p := d.pod(s, "ses_res.1")
	c := p.Spec.Containers[0]
	if q := c.Resources.Limits[gpuResource]; q.Value() != 2 {
		t.Errorf("nvidia.com/gpu limit %s", q.String())
	}
	if _, ok := p.Annotations[cdiAnnotation]; ok || p.Spec.HostNetwork || p.OwnerReferences != nil {
		t.Errorf("annotations %v host network %v owners %v", p.Annotations, p.Spec.HostNetwork, p.OwnerReferences)
	}
	for _, e := range c.Env {
		if e.Name == runtime.EnvNVDevices {
			t.Errorf("%s=%q set; the device plugin picks the devices", e.Name, e.Value)
		}
	}
}

// Start returns once the kubelet reports the Pod running; the
// container's terminated state is the instance's exit status, its log
// comes through the Pods' log API, and an ended Pod is deleted.
func TestExitStatusAndLogs(t *testing.T) {
	k := newKubelet(t)
	d := newDriver(t, k, Config{})
	ctx := testCtx(t)
	k.setLogs("to stdout\nto stderr\n")
	for _, tc := range []struct {
		code   int32
		reason string
		check  func(error) bool
	}{
		{0, "Completed", func(err error) bool { return err == nil }},
		{3, "Error", func(err error) bool {
			var ee *runtime.ExitError
			return errors.As(err, &ee) && ee.Code == 3 && errors.Is(err, runtime.ErrExited)
		}},
		{137, "OOMKilled", func(err error) bool {
			var ee *runtime.ExitError
			return errors.As(err, &ee) && strings.Contains(ee.Signal, "out of memory")
		}},
	} {
		in, err := d.Start(ctx, spec("ses_exit"))
		if err != nil {
			t.Fatal(err)
		}
		if p := k.pod(podName(in.ID())); p == nil || p.Status.Phase != corev1.PodRunning {
			t.Fatalf("Start returned before the pod ran: %+v", p)
		}
		k.exit(podName(in.ID()), tc.code, tc.reason)
		if err := in.Wait(ctx); !tc.check(err) {
			t.Errorf("exit %d (%s): err %v", tc.code, tc.reason, err)
		}
		if logs := string(in.Logs()); !strings.Contains(logs, "to stdout") || !strings.Contains(logs, "to stderr") {
			t.Errorf("logs %q", logs)
		}
		if p := k.pod(podName(in.ID())); p != nil {
			t.Errorf("ended pod %s not deleted", p.Name)
		}
	}
}

// Stop deletes the Pod with the grace in whole seconds, rounded up; the
// status is what the container exited with: 0 for a workload that
// handles SIGTERM, 137 for one killed after the grace.
func TestStopWithGrace(t *testing.T) {
	k := newKubelet(t)
	d := newDriver(t, k, Config{})
	ctx := testCtx(t)
	in, err := d.Start(ctx, spec("ses_term"))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(ctx, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := in.Err(); err != nil {
		t.Errorf("stopped, handled SIGTERM: err %v", err)
	}
	if g, ok := k.grace(podName(in.ID())); !ok || g == nil || *g != 2 {
		t.Errorf("deleted with grace %v (deleted %v), want 2 s", g, ok)
	}
	k.onTerm["ses_ignore"] = 137
	in, err = d.Start(ctx, spec("ses_ignore"))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	var ee *runtime.ExitError
	if err := in.Err(); !errors.As(err, &ee) || ee.Code != 137 {
		t.Errorf("killed after grace: err %v", err)
	}
	if err := in.Stop(ctx, time.Second); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

// A Pod whose image cannot be pulled fails the start with the kubelet's
// reason and is deleted.
func TestStartFailsOnImagePull(t *testing.T) {
	k := newKubelet(t)
	d := newDriver(t, k, Config{})
	k.badImages["reg.example/missing:1"] = true
	s := spec("ses_pull")
	s.Image = "reg.example/missing:1"
	_, err := d.Start(testCtx(t), s)
	if !errors.Is(err, ErrNotStarted) || !strings.Contains(err.Error(), "ErrImagePull") {
		t.Fatalf("err %v, want ErrNotStarted naming ErrImagePull", err)
	}
	if pods := k.podsOf("ses_pull"); len(pods) != 0 {
		t.Errorf("pod %s left after a failed start", pods[0].Name)
	}
	// A Pod still pending when the start's context ends is deleted too.
	k.slow["reg.example/huge:1"] = true
	s.SessionID, s.Image = "ses_slow", "reg.example/huge:1"
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Start(short, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("pending past the start's deadline: err %v", err)
	}
	if pods := k.podsOf("ses_slow"); len(pods) != 0 {
		t.Errorf("pending pod %s left after a failed start", pods[0].Name)
	}
	if _, err := d.Start(testCtx(t), runtime.Spec{SessionID: "ses_vol", Image: "x", Volume: "/data"}); !errors.Is(err, runtime.ErrInvalidSpec) {
		t.Errorf("session volume: err %v, want ErrInvalidSpec", err)
	}
}

// A restarted edge adopts its running Pod and sees an ended one with its
// status; stopping through the new driver ends the old driver's
// instance too, and nothing is left.
func TestAdoptAfterRestart(t *testing.T) {
	k := newKubelet(t)
	d1 := newDriver(t, k, Config{})
	ctx := testCtx(t)
	k.setLogs("ready\n")
	run, err := d1.Start(ctx, spec("ses_adopt"))
	if err != nil {
		t.Fatal(err)
	}
	ended, err := d1.Start(ctx, spec("ses_ended"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d1.Close(ctx); err != nil { // the edge dies; then its Pod exits
		t.Fatal(err)
	}
	k.exit(podName(ended.ID()), 4, "Error")

	d2 := newDriver(t, k, Config{})
	got, err := d2.Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySession := map[string]runtime.Instance{}
	for _, a := range got {
		bySession[a.SessionID()] = a
	}
	a, e := bySession["ses_adopt"], bySession["ses_ended"]
	if len(got) != 2 || a == nil || e == nil || a.ID() != run.ID() {
		t.Fatalf("adopted %d instances: %v", len(got), bySession)
	}
	var ee *runtime.ExitError
	if err := e.Wait(ctx); !errors.As(err, &ee) || ee.Code != 4 {
		t.Errorf("adopted ended pod: err %v, want status 4", err)
	}
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if !strings.Contains(string(a.Logs()), "ready") {
			return errors.New("adopted instance's logs lack ready")
		}
		return nil
	})
	if err := a.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if pods := append(k.podsOf("ses_adopt"), k.podsOf("ses_ended")...); len(pods) != 0 {
		t.Errorf("pods left: %d", len(pods))
	}
	d3 := newDriver(t, k, Config{})
	if left, err := d3.Adopt(ctx); err != nil || len(left) != 0 {
		t.Errorf("third life adopts %d (err %v), want none", len(left), err)
	}
}

// The sweep deletes Pods with Strata labels for this node (or for none)
// that no instance owns and that are older than the grace; young ones,
// other nodes' and owned ones stay, and nothing is judged before Adopt.
func TestSweepOrphans(t *testing.T) {
	old := metav1.NewTime(time.Now().Add(-time.Hour))
	orphan := func(name, nodeLabel string, created metav1.Time) *corev1.Pod {
		l := map[string]string{runtime.LabelManaged: "true", runtime.LabelSession: "ses_" + name, runtime.LabelInstance: name}
		if nodeLabel != "" {
			l[runtime.LabelNode] = nodeLabel
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: l, CreationTimestamp: created},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: containerName, Image: "reg.example/app:1"}}}}
	}
	k := newKubelet(t, orphan("old", node, old), orphan("young", node, metav1.Now()), orphan("nolabel", "", old),
		orphan("other", "edge-2", old))
	d := newDriver(t, k, Config{OrphanGrace: time.Minute})
	ctx := testCtx(t)
	if err := d.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if k.pod("old") == nil {
		t.Fatal("orphan deleted before Adopt ran")
	}
	owned, err := d.Start(ctx, spec("ses_owned")) // the fake sets no creation time: it looks ancient
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := d.Adopt(ctx) // adopts old and young, which carry this node's label
	if err != nil || len(adopted) != 2 {
		t.Fatalf("adopted %d, err %v", len(adopted), err)
	}
	for _, a := range adopted {
		if a.SessionID() == "ses_old" {
			if err := a.Stop(ctx, 0); err != nil { // the runner stops what is not assigned
				t.Fatal(err)
			}
		}
	}
	// Leftovers the runner never adopted: this node's, not owned; one
	// old, one within the grace.
	for _, p := range []*corev1.Pod{orphan("stray", node, old), orphan("fresh", node, metav1.Now())} {
		if err := k.cs.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for name, kept := range map[string]bool{"old": false, "stray": false, "nolabel": false, "young": true, "fresh": true, "other": true} {
		if (k.pod(name) != nil) != kept {
			t.Errorf("pod %s kept %v, want %v", name, !kept, kept)
		}
	}
	if k.pod(podName(owned.ID())) == nil {
		t.Error("owned pod deleted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {NodeID: "e"}, {NodeID: "e", NodeName: "n", GPUs: "all"}, {NodeID: "e", NodeName: "n", Network: "bridge"}} {
		if err := c.Validate(); !errors.Is(err, runtime.ErrInvalidSpec) {
			t.Errorf("%+v: err %v", c, err)
		}
	}
	k := newKubelet(t)
	if _, err := New(context.Background(), Config{NodeID: "e", NodeName: "n", OwnerPod: "nope"}, Deps{Client: k.cs}); err == nil {
		t.Error("a missing owner pod was accepted")
	}
	if got := podName("Ses_A.b1"); got != "strata-ses-a.b1" {
		t.Errorf("podName %q", got)
	}
}

// While the first edge process still runs, an instance the second one
// adopted and stopped ends for the first one too: both watch the Pod.
func TestAdoptedStopSeenByFirstDriver(t *testing.T) {
	k := newKubelet(t)
	d1, d2 := newDriver(t, k, Config{}), newDriver(t, k, Config{})
	ctx := testCtx(t)
	in, err := d1.Start(ctx, spec("ses_both"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d2.Adopt(ctx)
	if err != nil || len(got) != 1 || got[0].ID() != in.ID() {
		t.Fatalf("adopted %d (err %v)", len(got), err)
	}
	if err := got[0].Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := in.Wait(ctx); err != nil {
		t.Errorf("first driver: err %v, want the clean exit", err)
	}
}
