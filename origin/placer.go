package origin

import (
	"fmt"

	"github.com/strata-edge/strata/origin/controller"
	"github.com/strata-edge/strata/placement"
)

// openControllers builds the leader's controllers over this origin's
// registry and gossip pool, and the supervisor that runs them while this
// origin leads. The placer and lifecycle also serve API calls (inline
// creates, edge reports) on the leader.
func (o *Origin) openControllers() error {
	placer, err := controller.NewPlacer(controller.PlacerDeps{Store: o.reg, Leader: o.reg, Live: o.pool, Metrics: o.prom, Log: o.baseLog})
	if err != nil {
		return err
	}
	lifecycle, err := controller.NewLifecycle(controller.LifecycleDeps{Store: o.reg, Placement: placer, Log: o.baseLog,
		RestartBackoff: o.cfg.Restart.Backoff, RestartBackoffMax: o.cfg.Restart.MaxBackoff})
	if err != nil {
		return err
	}
	nodes, err := controller.NewNodes(controller.NodesDeps{Store: o.reg, Members: o.pool, Lost: lifecycle, Self: o.cfg.NodeID, Log: o.baseLog})
	if err != nil {
		return err
	}
	if err := o.prom.Register(controller.NewCapacity(o.reg)); err != nil {
		return fmt.Errorf("capacity metrics: %w", err)
	}
	if err := o.prom.Register(controller.NewDemand(o.reg)); err != nil {
		return fmt.Errorf("demand metrics: %w", err)
	}
	// Every leader loop is one entry here.
	loops := []controller.Controller{placer, nodes, lifecycle}
	scaler, err := o.openAutoscaler()
	if err != nil {
		return err
	}
	if scaler != nil {
		loops = append(loops, scaler)
	}
	o.leader, err = controller.NewSupervisor(o.baseLog, loops...)
	if err != nil {
		return err
	}
	o.placer, o.lifecycle = placer, lifecycle
	return nil
}

// kickPlacement asks the leader's placer for a round soon.
func (o *Origin) kickPlacement() { o.placer.Kick() }

// snapshot builds the placement engine's view of the edges: capacity and
// reservations from the registry, live load and coordinates from gossip.
func (o *Origin) snapshot() *placement.Snapshot { return o.placer.Snapshot() }
