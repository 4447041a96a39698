package kubernetes

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/strata-edge/strata/edge/runtime"
)

// No API server or kubelet can run on the test machines, so these tests
// use client-go's fake clientset, whose object tracker stores Pods and
// serves watches, and kubelet below, which moves Pods through their
// phases in the tracker the way a kubelet reports them. Nothing runs in
// the Pods.

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// kubelet plays the node's kubelet against a fake clientset: a new Pod
// is reported running (or waiting on an image it cannot pull), a
// deleted one is reported terminated first with the status its
// workload would exit with on SIGTERM, and its log API returns logs.
type kubelet struct {
	t  *testing.T
	cs *fake.Clientset

	mu        sync.Mutex
	badImages map[string]bool  // images that cannot be pulled
	slow      map[string]bool  // images whose Pods stay pending
	onTerm    map[string]int32 // session → exit status on delete (0 unless set)
	graces    map[string]*int64
	logs      []byte
}

func newKubelet(t *testing.T, objs ...kruntime.Object) *kubelet {
	k := &kubelet{t: t, cs: fake.NewClientset(objs...), badImages: map[string]bool{}, slow: map[string]bool{}, onTerm: map[string]int32{}, graces: map[string]*int64{}}
	k.cs.PrependReactor("delete", "pods", k.onDelete)
	k.cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, kruntime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		return true, &kruntime.Unknown{Raw: append([]byte(nil), k.logs...)}, nil
	})
	w, err := k.cs.Tracker().Watch(podsGVR, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added && p.Status.Phase == "" && len(p.Spec.Containers) > 0 {
				k.admit(p)
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return k
}

// admit starts a new Pod's container, or reports its image unpullable.
func (k *kubelet) admit(p *corev1.Pod) {
	p = p.DeepCopy()
	k.mu.Lock()
	bad, slow := k.badImages[p.Spec.Containers[0].Image], k.slow[p.Spec.Containers[0].Image]
	k.mu.Unlock()
	if slow {
		return
	}
	st := corev1.ContainerStatus{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image}
	if bad {
		p.Status.Phase = corev1.PodPending
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}
	} else {
		p.Status.Phase = corev1.PodRunning
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Now()}
		st.Ready = true
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	k.update(p)
}

// exit reports a Pod's container exited with code (and reason, such as
// OOMKilled).
func (k *kubelet) exit(name string, code int32, reason string) {
	k.t.Helper()
	obj, err := k.cs.Tracker().Get(podsGVR, "default", name)
	if err != nil {
		k.t.Fatal(err)
	}
	k.terminate(obj.(*corev1.Pod).DeepCopy(), code, reason)
}

func (k *kubelet) terminate(p *corev1.Pod, code int32, reason string) {
	p.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	for i := range p.Status.ContainerStatuses {
		st := &p.Status.ContainerStatuses[i]
		st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: metav1.Now()}}
		st.Ready = false
	}
	k.update(p)
}

func (k *kubelet) update(p *corev1.Pod) {
	// A Pod deleted meanwhile is no failure: a kubelet races deletions too.
	if err := k.cs.Tracker().Update(podsGVR, p, p.Namespace); err != nil && !apierrors.IsNotFound(err) {
		k.t.Errorf("kubelet: update %s: %v", p.Name, err)
	}
}

// onDelete records the grace of a deletion and, for a running Pod,
// reports its container terminated with its workload's status before
// the tracker removes it (the fake removes at once, with no grace).
func (k *kubelet) onDelete(a k8stesting.Action) (bool, kruntime.Object, error) {
	da := a.(k8stesting.DeleteActionImpl)
	k.mu.Lock()
	if _, seen := k.graces[da.Name]; !seen { // the first deletion is the one the kubelet acts on
		k.graces[da.Name] = da.DeleteOptions.GracePeriodSeconds
	}
	k.mu.Unlock()
	obj, err := k.cs.Tracker().Get(podsGVR, da.Namespace, da.Name)
	if err != nil {
		return false, nil, nil
	}
	p := obj.(*corev1.Pod).DeepCopy()
	if p.Status.Phase == corev1.PodRunning {
		k.mu.Lock()
		code := k.onTerm[p.Labels[runtime.LabelSession]]
		k.mu.Unlock()
		k.terminate(p, code, "")
	}
	return false, nil, nil
}

func (k *kubelet) grace(name string) (*int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.graces[name]
	return g, ok
}

func (k *kubelet) setLogs(s string) {
	k.mu.Lock()
	k.logs = []byte(s)
	k.mu.Unlock()
}

// pod reads a Pod from the tracker; nil when it is gone.
func (k *kubelet) pod(name string) *corev1.Pod {
	obj, err := k.cs.Tracker().Get(podsGVR, "default", name)
	if err != nil {
		return nil
	}
	return obj.(*corev1.Pod)
}

// podsOf lists the Pods of a session.
func (k *kubelet) podsOf(session string) []corev1.Pod {
	k.t.Helper()
	l, err := k.cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: runtime.LabelSession + "=" + session})
	if err != nil {
		k.t.Fatal(err)
	}
	return l.Items
}
