package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-edge/strata/edge/runtime"
)

// containerName is the name of the instance's container in its Pod.
const containerName = "instance"

// cdiAnnotation asks a CDI-enabled container runtime (containerd,
// CRI-O) for the named devices.
const cdiAnnotation = "cdi.k8s.io/strata"

// gpuResource is the NVIDIA device plugin's resource.
const gpuResource corev1.ResourceName = "nvidia.com/gpu"

// Driver runs instances as Pods. Goroutines: one Pod watcher, one orphan
// sweeper, and per instance one log follower; Close ends them.
type Driver struct {
	cfg   Config
	cli   k8s.Interface
	log   *slog.Logger
	owner *metav1.OwnerReference // the edge's own Pod, when known

	ctx    context.Context // the driver's life; ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	adopted bool                 // Adopt ran: the sweeper may judge orphans
	inst    map[string]*instance // by instance ID, from before create to deletion
}

var _ runtime.Driver = (*Driver)(nil)

// New connects to the API server (checking the edge's own Pod when
// OwnerPod is set) and starts the Pod watcher and the orphan sweeper.
// ctx bounds only the connection check.
func New(ctx context.Context, cfg Config, deps Deps) (*Driver, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cli := deps.Client
	if cli == nil {
		rc, err := restConfig(cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		if cli, err = k8s.NewForConfig(rc); err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Driver{cfg: cfg, cli: cli, log: log.With("component", "runtime", "driver", "kubernetes"), inst: map[string]*instance{}}
	if cfg.OwnerPod != "" {
		p, err := cli.CoreV1().Pods(cfg.Namespace).Get(ctx, cfg.OwnerPod, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("kubernetes: the edge's own pod %s/%s: %w", cfg.Namespace, cfg.OwnerPod, err)
		}
		d.owner = &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: p.UID}
	} else if _, err := cli.CoreV1().Pods(cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: d.mine(), Limit: 1}); err != nil {
		return nil, fmt.Errorf("kubernetes: list pods in %s: %w", cfg.Namespace, err)
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Go(d.watchPods)
	d.wg.Go(d.sweepLoop)
	d.log.Info("kubernetes connected", "namespace", cfg.Namespace, "node", cfg.NodeName, "owner", cfg.OwnerPod,
		"gpus", cfg.GPUs, "network", cfg.Network)
	return d, nil
}

// restConfig is the kubeconfig file's configuration, or the in-cluster
// one without a file.
func restConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	return rest.InClusterConfig()
}

// Name implements runtime.Driver.
func (*Driver) Name() string { return "kubernetes" }

// Close ends the watcher, the sweeper and the log followers; Pods keep
// running for the next driver to adopt.
func (d *Driver) Close(context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

// mine selects the Pods labelled for this node.
func (d *Driver) mine() string {
	return runtime.LabelManaged + "=true," + runtime.LabelNode + "=" + d.cfg.NodeID
}

// Start implements runtime.Driver: it creates the instance's Pod and
// waits until it runs (or has already ended). A Pod the kubelet cannot
// start (its image cannot be pulled, its config is wrong) is deleted and
// the start fails with the kubelet's reason.
func (d *Driver) Start(ctx context.Context, spec runtime.Spec) (runtime.Instance, error) {
	switch {
	case spec.Image == "":
		return nil, fmt.Errorf("%w: session %s: no image", runtime.ErrInvalidSpec, spec.SessionID)
	case spec.SessionID == "" || strings.ContainsAny(spec.SessionID, `/\ `):
		return nil, fmt.Errorf("%w: session id %q", runtime.ErrInvalidSpec, spec.SessionID)
	case spec.Volume != "":
		return nil, fmt.Errorf("%w: session %s: the kubernetes driver has no session volumes", runtime.ErrInvalidSpec, spec.SessionID)
	}
	id := runtime.NewInstanceID(spec.SessionID)
	pod := d.pod(spec, id)
	in := d.newInstance(id, spec.SessionID)
	in.setPod(pod.Name)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, runtime.ErrClosed
	}
	d.inst[id] = in // before create: the sweeper must not take it for an orphan
	d.mu.Unlock()
	if _, err := d.pods().Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		d.forget(id)
		return nil, fmt.Errorf("session %s: create pod: %w", spec.SessionID, err)
	}
	in.created.Store(true)
	d.observe(in, d.get(ctx, pod.Name)) // it may have moved before the watch saw it
	var err error
	select {
	case <-in.running:
		in.log.Info("instance started", "pod", pod.Name, "image", spec.Image, "gpus", len(spec.GPUs))
		return in, nil
	case <-in.Done():
		return in, nil // ran and exited already: the caller reads its status
	case <-in.failed:
		err = in.startErr()
	case <-ctx.Done():
		err = ctx.Err()
	}
	d.delete(pod.Name, nil)
	d.forget(id)
	return nil, fmt.Errorf("session %s: pod %s did not start: %w", spec.SessionID, pod.Name, err)
}

// get reads a Pod; nil when it cannot be read.
func (d *Driver) get(ctx context.Context, name string) *corev1.Pod {
	p, err := d.pods().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

func (d *Driver) pods() podClient { return d.cli.CoreV1().Pods(d.cfg.Namespace) }

// pod is the Pod of spec's instance id: pinned to the edge's node, never
// restarted by the kubelet (the runner's restart policy decides), with
// the session's environment, limits, GPUs and a memory-backed /dev/shm.
func (d *Driver) pod(spec runtime.Spec, id string) *corev1.Pod {
	env := spec.ContainerEnv()
	ann := map[string]string{}
	limits := corev1.ResourceList{}
	if spec.CPUMillis > 0 {
		limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(spec.CPUMillis, resource.DecimalSI)
	}
	if spec.MemoryMB > 0 {
		limits[corev1.ResourceMemory] = *resource.NewQuantity(spec.MemoryMB<<20, resource.BinarySI)
	}
	if n := len(spec.GPUs); n > 0 {
		if d.cfg.GPUs == GPUsResource {
			limits[gpuResource] = *resource.NewQuantity(int64(n), resource.DecimalSI)
			delete(env, runtime.EnvNVDevices) // the device plugin sets it to what it picked
		} else {
			ann[cdiAnnotation] = cdiDevices(spec.GPUs)
		}
	}
	shm := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	if spec.ShmMB > 0 {
		shm.SizeLimit = resource.NewQuantity(spec.ShmMB<<20, resource.BinarySI)
	}
	noEscalation := false
	c := corev1.Container{
		Name: containerName, Image: spec.Image, Command: spec.Command, Args: spec.Args,
		Env:             envVars(env),
		ImagePullPolicy: pullPolicy(spec.PullPolicy),
		Resources:       corev1.ResourceRequirements{Limits: limits},
		VolumeMounts:    []corev1.VolumeMount{{Name: "dshm", MountPath: "/dev/shm"}},
		// no_new_privs, as for process instances.
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &noEscalation},
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName(id), Namespace: d.cfg.Namespace, Labels: spec.Labels(d.cfg.NodeID, id), Annotations: ann},
		Spec: corev1.PodSpec{
			NodeName:      d.cfg.NodeName,
			RestartPolicy: corev1.RestartPolicyNever,
			HostNetwork:   d.cfg.Network == NetworkHost,
			Containers:    []corev1.Container{c},
			Volumes:       []corev1.Volume{{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: shm}}},
			// The instance needs no API access.
			AutomountServiceAccountToken: &noEscalation,
		},
	}
	if p.Spec.HostNetwork {
		p.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	if d.owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*d.owner}
	}
	return p
}

// cdiDevices is the CDI annotation's value for gpus: the NVIDIA
// Container Toolkit's device names of exactly the reserved GPUs.
func cdiDevices(gpus []runtime.GPU) string {
	names := make([]string, len(gpus))
	for i, g := range gpus {
		names[i] = "nvidia.com/gpu=" + strconv.Itoa(g.Index)
	}
	return strings.Join(names, ",")
}

// envVars is env sorted by name, so Pods are reproducible.
func envVars(env map[string]string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, corev1.EnvVar{Name: k, Value: env[k]})
	}
	return out
}

// pullPolicy maps an app's pull policy onto the kubelet's.
func pullPolicy(p string) corev1.PullPolicy {
	switch p {
	case runtime.PullAlways:
		return corev1.PullAlways
	case runtime.PullNever:
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}

// podName is a valid Pod name for an instance ID: lower case, with
// anything but letters, digits, '-' and '.' turned into '-'.
func podName(id string) string {
	b := []byte("strata-" + strings.ToLower(id))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), 253)])
}

// forget drops an instance from the driver's set.
func (d *Driver) forget(id string) {
	d.mu.Lock()
	delete(d.inst, id)
	d.mu.Unlock()
}

// delete deletes a Pod with grace (nil: the Pod's own), logging a
// failure (a gone Pod is no failure). It runs on its own context, not a
// start's.
func (d *Driver) delete(name string, grace *int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.pods().Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: grace})
	if err != nil && !apierrors.IsNotFound(err) {
		d.log.Warn("pod not deleted", "pod", name, "err", err)
	}
}
