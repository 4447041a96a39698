package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/strata-edge/strata/edge/runtime"
)

var getOpts = metav1.GetOptions{}

func deleteWith(grace *int64) metav1.DeleteOptions {
	return metav1.DeleteOptions{GracePeriodSeconds: grace}
}

// watchPods follows this node's Pods and moves their instances along as
// the kubelet reports them. After each (re)connection every instance is
// looked at once, so a change while the watch was down is not missed.
func (d *Driver) watchPods() {
	backoff := 100 * time.Millisecond
	for d.ctx.Err() == nil {
		w, err := d.pods().Watch(d.ctx, metav1.ListOptions{LabelSelector: d.mine()})
		if err == nil {
			d.checkAll(d.ctx)
			if d.drain(w) {
				backoff = 100 * time.Millisecond
			}
			w.Stop()
		} else if d.ctx.Err() == nil {
			d.log.Warn("pod watch failed; retrying", "err", err)
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// drain handles one watch until it ends; it reports whether any event
// came (the connection was good).
func (d *Driver) drain(w watch.Interface) bool {
	got := false
	for {
		select {
		case <-d.ctx.Done():
			return got
		case ev, ok := <-w.ResultChan():
			if !ok {
				return got
			}
			got = true
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue // an error event: the watch ends next
			}
			in := d.byID(p.Labels[runtime.LabelInstance])
			if in == nil {
				continue
			}
			d.observe(in, p)
			if ev.Type == watch.Deleted {
				d.finish(in, lastExit(p))
			}
		}
	}
}

func (d *Driver) byID(id string) *instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inst[id]
}

// checkAll looks at every instance's Pod once; an instance whose Pod is
// gone has ended.
func (d *Driver) checkAll(ctx context.Context) {
	d.mu.Lock()
	all := make([]*instance, 0, len(d.inst))
	for _, in := range d.inst {
		if in.created.Load() { // before the list: a Pod created later is in it
			all = append(all, in)
		}
	}
	d.mu.Unlock()
	if len(all) == 0 {
		return
	}
	list, err := d.pods().List(ctx, metav1.ListOptions{LabelSelector: d.mine()})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("list pods failed", "err", err)
		}
		return
	}
	byID := make(map[string]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		byID[list.Items[i].Labels[runtime.LabelInstance]] = &list.Items[i]
	}
	for _, in := range all {
		if p, ok := byID[in.id]; ok {
			d.observe(in, p)
		} else {
			d.finish(in, lastExit(nil))
		}
	}
}

// Adopt implements runtime.Driver: the Pods labelled for this node that
// an earlier edge process left. Running ones are watched again (and
// their logs read from the start); ended ones come back already ended,
// with their container's status, and are deleted; pending ones are
// watched until they run or fail.
func (d *Driver) Adopt(ctx context.Context) ([]runtime.Instance, error) {
	list, err := d.pods().List(ctx, metav1.ListOptions{LabelSelector: d.mine()})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: list pods: %w", err)
	}
	var out []runtime.Instance
	for i := range list.Items {
		p := &list.Items[i]
		id, session := p.Labels[runtime.LabelInstance], p.Labels[runtime.LabelSession]
		if id == "" || session == "" {
			continue // not one of ours after all; the sweeper judges it
		}
		d.mu.Lock()
		_, known := d.inst[id]
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return nil, runtime.ErrClosed
		}
		if known {
			continue
		}
		in := d.newInstance(id, session)
		in.setPod(p.Name)
		in.created.Store(true)
		d.mu.Lock()
		d.inst[id] = in
		d.mu.Unlock()
		in.log.Info("adopted pod from an earlier edge process", "pod", p.Name, "phase", p.Status.Phase)
		d.observe(in, p)
		out = append(out, in)
	}
	d.mu.Lock()
	d.adopted = true
	d.mu.Unlock()
	return out, nil
}

// sweepLoop runs Sweep every SweepInterval until Close.
func (d *Driver) sweepLoop() {
	t := time.NewTicker(d.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		if err := d.Sweep(d.ctx); err != nil && d.ctx.Err() == nil {
			d.log.Warn("orphan sweep failed", "err", err)
		}
	}
}

// Sweep looks for changes the watch missed and deletes orphans: Pods
// with Strata labels for this node (or for no node) that no instance of
// this driver owns and that were created more than OrphanGrace ago.
// Pods labelled for other nodes are left to their edges. Nothing is
// judged before Adopt has run: until then an earlier life's Pods look
// orphaned.
func (d *Driver) Sweep(ctx context.Context) error {
	d.checkAll(ctx)
	d.mu.Lock()
	adopted := d.adopted
	d.mu.Unlock()
	if !adopted {
		return nil
	}
	list, err := d.pods().List(ctx, metav1.ListOptions{LabelSelector: runtime.LabelManaged + "=true"})
	if err != nil {
		return fmt.Errorf("kubernetes: list pods: %w", err)
	}
	var errs []error
	for _, p := range list.Items {
		if node := p.Labels[runtime.LabelNode]; node != "" && node != d.cfg.NodeID {
			continue
		}
		if d.byID(p.Labels[runtime.LabelInstance]) != nil {
			continue
		}
		age := time.Since(p.CreationTimestamp.Time)
		if age < d.cfg.OrphanGrace {
			continue
		}
		d.log.Warn("deleting orphaned pod", "pod", p.Name, "session", p.Labels[runtime.LabelSession], "age", age.Round(time.Second))
		if err := d.pods().Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete orphan %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}
