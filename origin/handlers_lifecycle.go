package origin

import (
	"errors"
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/origin/controller"
	"github.com/strata-edge/strata/registry"
)

// Hibernation, waking, idleness and restarts: the control plane's side of
// a session's life after placement. The policies live in the lifecycle
// controller; these handlers decode and check the calls.

// hibernateSession stops a running session's instance and frees its edge
// capacity (GPUs, NIC). The session keeps its share of the tenant's quota
// and can be woken. With the process runtime, hibernating stops the
// process; an app that wants to resume where it left off saves its own
// state on SIGTERM.
func (o *Origin) hibernateSession(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	reason := string(c.ctx.QueryArgs().Peek("reason"))
	if reason == "" {
		reason = "hibernated by API"
	}
	v, err := o.reg.Apply(c.cx, &registry.SetSessionState{
		ID: s.ID, TenantID: s.TenantID, State: registry.StateHibernated, Reason: truncate(reason, 256), At: time.Now().UTC(),
	})
	if err != nil {
		return 0, nil, err
	}
	o.kickPlacement() // capacity was freed
	return http.StatusOK, toAPISession(v.(*registry.Session)), nil
}

// wakeSession places a hibernated session again: it goes back to pending
// and the call waits for the placer's next round, so it answers placed
// when an edge has room and pending (with the reason) when none has.
func (o *Origin) wakeSession(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	if s.State != registry.StateHibernated {
		return 0, nil, api.Errorf(http.StatusConflict, api.CodeInvalidState, "session %s is %s; only a hibernated session can be woken", s.ID, s.State)
	}
	v, err := o.reg.Apply(c.cx, &registry.SetSessionState{
		ID: s.ID, TenantID: s.TenantID, State: registry.StatePending, ExpectState: registry.StateHibernated,
		Reason: "woken; waiting to be placed", At: time.Now().UTC(),
	})
	if err != nil {
		return 0, nil, err
	}
	placed, err := o.placeNow(c, v.(*registry.Session), false)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPISession(placed), nil
}

// sessionIdle applies the app's idle policy to a running session whose
// edge saw no viewer for the app's idle time: hibernate or terminate.
// Viewer counts live on the ingest edge (every viewer, local or relayed
// through another edge, is a subscriber there), so the edge measures the
// idle time and the control plane decides what it means. Only the edge
// holding the reservation may report.
func (o *Origin) sessionIdle(c *call) (int, any, error) {
	var b api.SessionIdleReport
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := checkRange("idle_seconds", b.IdleSeconds, api.MaxIdleSeconds); err != nil {
		return 0, nil, err
	}
	s, err := o.reportedSession(c, b.NodeID)
	if err != nil {
		return 0, nil, err
	}
	if s.State != registry.StateRunning {
		return 0, nil, api.Errorf(http.StatusConflict, api.CodeInvalidState, "session %s is %s; only a running session can be idle", s.ID, s.State)
	}
	v, err := o.lifecycle.Idle(c.cx, s, time.Duration(b.IdleSeconds)*time.Second)
	if errors.Is(err, controller.ErrNoIdlePolicy) {
		return 0, nil, api.Errorf(http.StatusConflict, api.CodeConflict, "the app of session %s has no idle policy", s.ID)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPISession(v), nil
}

// reportedSession is the session an edge reports on: it must exist, hold a
// reservation, and (when a node id is given, as node keys must) be
// reserved on that node.
func (o *Origin) reportedSession(c *call, nodeID string) (*registry.Session, error) {
	if c.who.isNode() {
		// A node reports only as itself: the body's node_id, if any, must
		// name it.
		if nodeID != "" && nodeID != c.who.node.NodeID {
			return nil, api.Errorf(http.StatusForbidden, api.CodeForbidden, "%s may not report for node %s", c.who, truncate(nodeID, 80))
		}
		nodeID = c.who.node.NodeID
	}
	if nodeID != "" && !nodeIDPattern.MatchString(nodeID) {
		return nil, badRequest("node_id: %q is not a valid node id", truncate(nodeID, 80))
	}
	id, err := idParam(c, "id", "ses")
	if err != nil {
		return nil, err
	}
	s, ok := o.reg.State().Session(id)
	if !ok {
		return nil, notFound("session", id)
	}
	if s.Reservation == nil {
		return nil, api.Errorf(http.StatusConflict, api.CodeInvalidState, "session %s is %s and holds no reservation", s.ID, s.State)
	}
	if nodeID != "" && s.Reservation.NodeID != nodeID {
		return nil, api.Errorf(http.StatusForbidden, api.CodeForbidden, "session %s is not reserved on node %s", s.ID, nodeID)
	}
	return s, nil
}
