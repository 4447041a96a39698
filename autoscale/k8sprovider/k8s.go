// Package k8sprovider is the autoscaler's Kubernetes provider: it scales
// a pool's Deployment or StatefulSet with client-go, and marks the
// drained victims with controller.kubernetes.io/pod-deletion-cost so a
// Deployment removes those pods and no others.
package k8sprovider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/strata-edge/strata/autoscale"
)

// Annotations the provider writes.
const (
	// DeletionCost ranks pods for a ReplicaSet's scale-down: the lowest
	// cost goes first.
	DeletionCost = "controller.kubernetes.io/pod-deletion-cost"
	// victimCost is the cost given to drained victims: below any default.
	victimCost = "-2147483648"
	// LastDecision on the workload records the last decision applied, so
	// an action seen twice changes nothing the second time.
	LastDecision = "strata.dev/autoscale-decision"
)

// Kinds of workload.
const (
	KindDeployment  = "deployment"
	KindStatefulSet = "statefulset"
)

// ErrProvider is wrapped by every failure.
var ErrProvider = errors.New("kubernetes provider")

// Config names the workloads. Each edge pod's name is its node ID (as
// `strata edge --id $(POD_NAME)` gives).
type Config struct {
	Namespace string
	// Kind is deployment (default) or statefulset. A StatefulSet always
	// removes its highest ordinals, so removals must name exactly those.
	Kind string
	// Names maps a pool name (region or region/class) to its workload;
	// a pool not listed uses "strata-edge-<region>[-<class>]", lower case.
	Names map[string]string
}

// Provider scales workloads through one clientset.
type Provider struct {
	c   kubernetes.Interface
	cfg Config
}

var _ autoscale.Provider = (*Provider)(nil)

// New returns the provider; c is a real or a fake clientset.
func New(c kubernetes.Interface, cfg Config) (*Provider, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no clientset", ErrProvider)
	}
	switch cfg.Kind {
	case "":
		cfg.Kind = KindDeployment
	case KindDeployment, KindStatefulSet:
	default:
		return nil, fmt.Errorf("%w: kind %q: want deployment or statefulset", ErrProvider, cfg.Kind)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	return &Provider{c: c, cfg: cfg}, nil
}

// Workload is the workload name of a pool.
func (p *Provider) Workload(a autoscale.Action) string {
	if n, ok := p.cfg.Names[a.Pool]; ok {
		return n
	}
	n := "strata-edge-" + a.Region
	if a.Class != "" {
		n += "-" + a.Class
	}
	return strings.ToLower(n)
}

// Scale applies one action: victims are marked, then the replica count
// moves by the nodes added less the victims that still exist, and the
// decision is recorded on the workload in the same update.
func (p *Provider) Scale(ctx context.Context, a autoscale.Action) error {
	name := p.Workload(a)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		meta, replicas, err := p.get(ctx, name)
		if err != nil {
			return err
		}
		if meta.Annotations[LastDecision] == a.DecisionID {
			return nil // applied already
		}
		victims, err := p.markVictims(ctx, a.Remove, replicas)
		if err != nil {
			return err
		}
		return p.update(ctx, name, max(0, replicas+int32(a.Add)-int32(victims)), a.DecisionID)
	})
	if err != nil {
		return fmt.Errorf("%w: %s %s/%s: %w", ErrProvider, p.cfg.Kind, p.cfg.Namespace, name, err)
	}
	return nil
}

func (p *Provider) get(ctx context.Context, name string) (metav1.ObjectMeta, int32, error) {
	var meta metav1.ObjectMeta
	var spec *int32
	if p.cfg.Kind == KindStatefulSet {
		s, err := p.c.AppsV1().StatefulSets(p.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return meta, 0, err
		}
		meta, spec = s.ObjectMeta, s.Spec.Replicas
	} else {
		d, err := p.c.AppsV1().Deployments(p.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return meta, 0, err
		}
		meta, spec = d.ObjectMeta, d.Spec.Replicas
	}
	replicas := int32(1) // the API's default when unset
	if spec != nil {
		replicas = *spec
	}
	return meta, replicas, nil
}

// markVictims gives each existing victim pod the lowest deletion cost and
// returns how many exist. For a StatefulSet the victims must be its
// highest ordinals.
func (p *Provider) markVictims(ctx context.Context, ids []string, replicas int32) (int, error) {
	if p.cfg.Kind == KindStatefulSet && len(ids) > 0 {
		want := map[int32]bool{}
		for i := range int32(len(ids)) {
			want[replicas-1-i] = true
		}
		for _, id := range ids {
			k := strings.LastIndexByte(id, '-')
			n, err := strconv.ParseInt(id[k+1:], 10, 32)
			if k < 0 || err != nil || !want[int32(n)] {
				return 0, fmt.Errorf("a StatefulSet removes its highest ordinals; %s is not among the top %d of %d", id, len(ids), replicas)
			}
		}
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, DeletionCost, victimCost))
	found := 0
	for _, id := range ids {
		_, err := p.c.CoreV1().Pods(p.cfg.Namespace).Patch(ctx, id, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// Gone already: lowering the count for it would remove another.
		case err != nil:
			return 0, fmt.Errorf("mark pod %s: %w", id, err)
		default:
			found++
		}
	}
	return found, nil
}

func (p *Provider) update(ctx context.Context, name string, replicas int32, decision string) error {
	note := func(m *metav1.ObjectMeta) {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[LastDecision] = decision
	}
	if p.cfg.Kind == KindStatefulSet {
		s, err := p.c.AppsV1().StatefulSets(p.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = &replicas
		note(&s.ObjectMeta)
		_, err = p.c.AppsV1().StatefulSets(p.cfg.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		return err
	}
	d, err := p.c.AppsV1().Deployments(p.cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	d.Spec.Replicas = &replicas
	note(&d.ObjectMeta)
	_, err = p.c.AppsV1().Deployments(p.cfg.Namespace).Update(ctx, d, metav1.UpdateOptions{})
	return err
}
