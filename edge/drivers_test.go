package edge

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime"
)

// fakeDriver is a runtime driver made of function fields.
type fakeDriver struct {
	name  string
	start func(runtime.Spec) (runtime.Instance, error)
	adopt func() ([]runtime.Instance, error)
}

func (f *fakeDriver) Name() string { return f.name }
func (f *fakeDriver) Start(_ context.Context, s runtime.Spec) (runtime.Instance, error) {
	return f.start(s)
}
func (f *fakeDriver) Adopt(context.Context) ([]runtime.Instance, error) { return f.adopt() }
func (f *fakeDriver) Close(context.Context) error                       { return nil }

var _ runtime.Driver = (*fakeDriver)(nil)

// A runner with several drivers starts each session with its app's
// driver, hands it the container fields, adopts through every driver,
// advertises them all, and fails a session whose runtime it lacks.
func TestRunnerSeveralDrivers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	origins := &runtimeAPI{reports: make(chan report, 16), apps: map[string]api.App{
		"app_d": {ID: "app_d", Runtime: api.RuntimeDocker, Image: "img:1", ContainerFields: api.ContainerFields{
			Args: []string{"testsrc"}, Volume: "/data", ShmMB: 64, PullPolicy: api.PullNever}},
		"app_k": {ID: "app_k", Runtime: api.RuntimeKubernetes, Image: "img:1"},
	}}
	started := make(chan runtime.Spec, 1)
	adopted := 0
	fake := &fakeDriver{name: "docker",
		start: func(s runtime.Spec) (runtime.Instance, error) {
			started <- s
			return nil, runtime.ErrInvalidSpec // reported failed; enough here
		},
		adopt: func() ([]runtime.Instance, error) { adopted++; return nil, nil },
	}
	proc, _ := newProcessRunner(t, origins)
	procDrv := proc.drvOrder[0]
	r, err := NewRunner(RunnerConfig{NodeID: "edge-a"}, RunnerDeps{API: proc.api, Drivers: []runtime.Driver{procDrv, fake}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	if got := r.Runtimes(); !slices.Equal(got, []api.Runtime{api.RuntimeProcess, api.RuntimeDocker}) {
		t.Fatalf("runtimes %v", got)
	}
	d, k := placed("ses_d", "app_d", 0), placed("ses_k", "app_k", 0)
	d.Placements = 4
	_ = r.Reconcile(ctx, []api.Session{d, k})
	select {
	case s := <-started:
		if s.Image != "img:1" || s.Args[0] != "testsrc" || s.Volume != "/data" || s.ShmMB != 64 || s.PullPolicy != runtime.PullNever || s.Generation != 4 {
			t.Errorf("docker driver got %+v", s)
		}
	case <-ctx.Done():
		t.Fatal("the docker driver never started the docker session")
	}
	if adopted != 1 {
		t.Errorf("docker driver adopted %d times, want 1", adopted)
	}
	reasons := map[string]string{}
	for len(reasons) < 2 {
		rep := nextReport(ctx, t, origins)
		if rep.state == string(api.StateFailed) {
			reasons[rep.session] = rep.reason
		}
	}
	if !strings.Contains(reasons["ses_k"], `runtime "kubernetes" is not available on edge edge-a`) {
		t.Errorf("kubernetes session failed with %q", reasons["ses_k"])
	}
}

// The kubernetes driver's empty settings come from the environment a
// DaemonSet's downward API gives the edge's Pod; set ones win.
func TestKubernetesDriverConfig(t *testing.T) {
	env := map[string]string{"NODE_NAME": "worker-3", "POD_NAMESPACE": "strata", "POD_NAME": "edge-abc"}
	c := KubernetesConfig{GPUs: "resource"}.driverConfig("edge-a", func(k string) string { return env[k] })
	if c.NodeID != "edge-a" || c.NodeName != "worker-3" || c.Namespace != "strata" || c.OwnerPod != "edge-abc" || c.GPUs != "resource" {
		t.Errorf("from the environment: %+v", c)
	}
	c = KubernetesConfig{Node: "n1", Namespace: "ns", OwnerPod: "p"}.driverConfig("edge-a", func(k string) string { return env[k] })
	if c.NodeName != "n1" || c.Namespace != "ns" || c.OwnerPod != "p" {
		t.Errorf("set values: %+v", c)
	}
	// Without a node name an edge refuses the driver, naming the key.
	_, err := newDrivers(Config{NodeID: "edge-a", Runtime: RuntimeConfig{Drivers: []string{"kubernetes"},
		Kubernetes: KubernetesConfig{Namespace: "ns"}}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "runtime.kubernetes.node") {
		if os.Getenv("NODE_NAME") == "" {
			t.Errorf("err %v, want one naming runtime.kubernetes.node", err)
		}
	}
}
