package docker

import (
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// watchEvents follows the engine's container events and ends an
// instance as soon as its container dies. After each (re)connection
// every instance is inspected once, so an exit while the stream was down
// is not missed.
func (d *Driver) watchEvents() {
	backoff := 100 * time.Millisecond
	for d.ctx.Err() == nil {
		f := make(client.Filters).Add("type", string(events.ContainerEventType)).Add("label", runtime.LabelNode+"="+d.cfg.NodeID)
		res := d.cli.Events(d.ctx, client.EventsListOptions{Filters: f})
		d.checkAll()
		if d.drain(res) {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// drain handles one event stream until it fails; it reports whether
// any event came (the connection was good).
func (d *Driver) drain(res client.EventsResult) bool {
	got := false
	for {
		select {
		case <-d.ctx.Done():
			return got
		case err := <-res.Err:
			if d.ctx.Err() == nil {
				d.log.Warn("engine event stream lost; reconnecting", "err", err)
			}
			return got
		case m, ok := <-res.Messages:
			if !ok {
				return got
			}
			got = true
			if m.Action != events.ActionDie && m.Action != events.ActionDestroy {
				continue
			}
			if in := d.byContainer(m.Actor.ID, m.Actor.Attributes[runtime.LabelInstance]); in != nil {
				d.check(in)
			}
		}
	}
}

// byContainer finds the instance of a container, by its instance label
// or its ID.
func (d *Driver) byContainer(cid, id string) *instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.inst[id]; ok {
		return in
	}
	for _, in := range d.inst {
		if c := in.container(); c != "" && c == cid {
			return in
		}
	}
	return nil
}

// checkAll inspects every instance once.
func (d *Driver) checkAll() {
	d.mu.Lock()
	all := make([]*instance, 0, len(d.inst))
	for _, in := range d.inst {
		all = append(all, in)
	}
	d.mu.Unlock()
	for _, in := range all {
		d.check(in)
	}
}
