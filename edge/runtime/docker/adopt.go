package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// mine filters the containers labelled for this node.
func (d *Driver) mine() client.Filters {
	return make(client.Filters).Add("label", runtime.LabelManaged+"=true", runtime.LabelNode+"="+d.cfg.NodeID)
}

// Adopt implements runtime.Driver: the containers labelled for this node
// that an earlier edge process left. Running ones are watched again (and
// their logs read from the start); exited ones come back already ended,
// with their status, so the runner reports them, and are removed.
func (d *Driver) Adopt(ctx context.Context) ([]runtime.Instance, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: d.mine()})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	var out []runtime.Instance
	for _, c := range res.Items {
		id, session := c.Labels[runtime.LabelInstance], c.Labels[runtime.LabelSession]
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
		in.setContainer(c.ID)
		d.mu.Lock()
		d.inst[id] = in
		d.mu.Unlock()
		d.follow(in) // an exited container's log is read to its end
		if c.State == container.StateRunning {
			in.log.Info("adopted container from an earlier edge process", "container", shortID(c.ID))
			d.check(in) // it may have exited since the list
		} else {
			// Exited while the edge was away, or created and never
			// started (the edge died in between): it ends now.
			in.log.Info("adopted a stopped container from an earlier edge process", "container", shortID(c.ID), "state", c.State)
			d.finish(in, d.exitOf(ctx, c.ID))
		}
		out = append(out, in)
	}
	d.mu.Lock()
	d.adopted = true
	d.mu.Unlock()
	return out, nil
}

// exitOf is the exit status of a stopped container; unknown when it
// never ran or cannot be read.
func (d *Driver) exitOf(ctx context.Context, cid string) error {
	res, err := d.cli.ContainerInspect(ctx, cid, client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil || !exited(res.Container.State) {
		return &runtime.ExitError{Code: -1, Unknown: true}
	}
	return exitError(res.Container.State)
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

// Sweep looks for exits the event stream missed and removes orphans:
// containers with Strata labels for this node (or for no node) that no
// instance of this driver owns and that were created more than
// OrphanGrace ago, and the volumes of this node's sessions that have
// ended for good. Containers labelled for other nodes are left to them
// (several edges may share one engine). Nothing is judged before Adopt
// has run: until then an earlier life's containers look orphaned.
func (d *Driver) Sweep(ctx context.Context) error {
	d.checkAll()
	d.mu.Lock()
	adopted := d.adopted
	d.mu.Unlock()
	if !adopted {
		return nil
	}
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", runtime.LabelManaged+"=true")})
	if err != nil {
		return fmt.Errorf("docker: list containers: %w", err)
	}
	var errs []error
	for _, c := range res.Items {
		if node := c.Labels[runtime.LabelNode]; node != "" && node != d.cfg.NodeID {
			continue
		}
		if d.owns(c.Labels[runtime.LabelInstance], c.ID) {
			continue
		}
		age := time.Since(time.Unix(c.Created, 0))
		if age < d.cfg.OrphanGrace {
			continue
		}
		d.log.Warn("removing orphaned container", "container", shortID(c.ID), "name", strings.Join(c.Names, ","),
			"session", c.Labels[runtime.LabelSession], "age", age.Round(time.Second))
		if _, err := d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove orphan %s: %w", shortID(c.ID), err))
		}
	}
	errs = append(errs, d.sweepVolumes(ctx))
	return errors.Join(errs...)
}

// owns reports whether an instance of this driver holds the container.
func (d *Driver) owns(id, cid string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.inst[id]; ok && id != "" {
		return true
	}
	for _, in := range d.inst {
		if in.container() == cid {
			return true
		}
	}
	return false
}

// sweepVolumes removes this node's session volumes whose session has
// ended for good and has no instance here.
func (d *Driver) sweepVolumes(ctx context.Context) error {
	if d.deps.SessionEnded == nil {
		return nil
	}
	res, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: d.mine()})
	if err != nil {
		return fmt.Errorf("docker: list volumes: %w", err)
	}
	var errs []error
	for _, v := range res.Items {
		session := v.Labels[runtime.LabelSession]
		if session == "" || d.running(session) {
			continue
		}
		ended, err := d.deps.SessionEnded(ctx, session)
		if err != nil {
			errs = append(errs, fmt.Errorf("session %s: %w", session, err))
			continue
		}
		if !ended {
			continue
		}
		d.log.Info("removing the volume of an ended session", "session", session, "volume", v.Name)
		if _, err := d.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// running reports whether the driver has an instance of session.
func (d *Driver) running(session string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, in := range d.inst {
		if in.session == session {
			return true
		}
	}
	return false
}
