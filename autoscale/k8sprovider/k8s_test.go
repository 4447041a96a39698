package k8sprovider

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/strata-edge/strata/autoscale"
)

// No API server can run here: these tests use client-go's fake
// clientset, which keeps objects in memory and applies patches and
// updates as the API would.

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "strata"}}
}

func replicas(n int32) *int32 { return &n }

func TestDeploymentScaleUpDownOnce(t *testing.T) {
	ctx := context.Background()
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "strata-edge-eu-l4", Namespace: "strata"}, Spec: appsv1.DeploymentSpec{Replicas: replicas(2)}}
	c := fake.NewClientset([]runtime.Object{dep, pod("edge-a"), pod("edge-b")}...)
	p, err := New(c, Config{Namespace: "strata"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() *appsv1.Deployment {
		d, err := c.AppsV1().Deployments("strata").Get(ctx, "strata-edge-eu-l4", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	up := autoscale.Action{DecisionID: "eu.L4-10", Pool: "eu/L4", Region: "eu", Class: "L4", Add: 2}
	for range 2 { // the second time is a replay: nothing more
		if err := p.Scale(ctx, up); err != nil {
			t.Fatal(err)
		}
	}
	if d := get(); *d.Spec.Replicas != 4 || d.Annotations[LastDecision] != "eu.L4-10" {
		t.Fatalf("replicas %d, annotations %v", *d.Spec.Replicas, d.Annotations)
	}
	down := autoscale.Action{DecisionID: "eu.L4-20", Pool: "eu/L4", Region: "eu", Class: "L4", Remove: []string{"edge-a", "edge-gone"}}
	if err := p.Scale(ctx, down); err != nil {
		t.Fatal(err)
	}
	// edge-gone no longer exists: only edge-a lowers the count, and only
	// edge-a is marked for deletion.
	if d := get(); *d.Spec.Replicas != 3 {
		t.Fatalf("replicas %d, want 3", *d.Spec.Replicas)
	}
	a, _ := c.CoreV1().Pods("strata").Get(ctx, "edge-a", metav1.GetOptions{})
	b, _ := c.CoreV1().Pods("strata").Get(ctx, "edge-b", metav1.GetOptions{})
	if a.Annotations[DeletionCost] != victimCost || b.Annotations[DeletionCost] != "" {
		t.Fatalf("deletion costs a=%q b=%q", a.Annotations[DeletionCost], b.Annotations[DeletionCost])
	}
	if err := p.Scale(ctx, autoscale.Action{DecisionID: "x", Pool: "us", Region: "us", Add: 1}); !errors.Is(err, ErrProvider) {
		t.Fatalf("missing workload: %v", err)
	}
}

func TestStatefulSetRemovesOnlyHighestOrdinals(t *testing.T) {
	ctx := context.Background()
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "edges", Namespace: "strata"}, Spec: appsv1.StatefulSetSpec{Replicas: replicas(3)}}
	c := fake.NewClientset(sts, pod("edges-0"), pod("edges-1"), pod("edges-2"))
	p, err := New(c, Config{Namespace: "strata", Kind: KindStatefulSet, Names: map[string]string{"eu": "edges"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Scale(ctx, autoscale.Action{DecisionID: "d1", Pool: "eu", Region: "eu", Remove: []string{"edges-0"}}); !errors.Is(err, ErrProvider) {
		t.Fatalf("removing ordinal 0 of 3: %v", err)
	}
	if err := p.Scale(ctx, autoscale.Action{DecisionID: "d2", Pool: "eu", Region: "eu", Remove: []string{"edges-2"}}); err != nil {
		t.Fatal(err)
	}
	s, _ := c.AppsV1().StatefulSets("strata").Get(ctx, "edges", metav1.GetOptions{})
	if *s.Spec.Replicas != 2 {
		t.Fatalf("replicas %d, want 2", *s.Spec.Replicas)
	}
	if _, err := New(c, Config{Kind: "daemonset"}); err == nil {
		t.Fatal("kind daemonset accepted")
	}
}
