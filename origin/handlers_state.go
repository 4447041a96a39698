package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/registry"
)

// stateBody is the body of POST /v1/sessions/{id}/state.
type stateBody struct {
	// NodeID names the reporting edge. Node keys are shared by every edge
	// (they carry no node identity), so the edge says who it is and the
	// origin checks it against the reservation; admin keys may omit it.
	NodeID string `json:"node_id,omitempty"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// edgeReportable are the states an edge may report: the ones its runtime
// observes. Everything else (placement, hibernation, termination) belongs
// to the control plane.
var edgeReportable = []string{
	registry.StateStarting.String(), registry.StateRunning.String(), registry.StateFailed.String(),
}

// setSessionState records what the session's edge observed of its
// instance: starting, running or failed. Only the edge holding the
// session's reservation may report, so a stale edge (one that lost the
// session to a re-placement) cannot move it; the FSM validates the
// transition.
func (o *Origin) setSessionState(c *call) (int, any, error) {
	var b stateBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := oneOf("state", b.State, edgeReportable); err != nil {
		return 0, nil, err
	}
	st, _ := registry.ParseSessionState(b.State)
	if c.who.scope == registry.ScopeNode && b.NodeID == "" {
		return 0, nil, badRequest("node_id: required with a node key")
	}
	if b.NodeID != "" && !nodeIDPattern.MatchString(b.NodeID) {
		return 0, nil, badRequest("node_id: %q is not a valid node id", truncate(b.NodeID, 80))
	}
	id, err := idParam(c, "id", "ses")
	if err != nil {
		return 0, nil, err
	}
	s, ok := o.reg.State().Session(id)
	if !ok {
		return 0, nil, notFound("session", id)
	}
	if s.Reservation == nil {
		return 0, nil, errf(http.StatusConflict, codeInvalidState, "session %s is %s and holds no reservation", s.ID, s.State)
	}
	if b.NodeID != "" && s.Reservation.NodeID != b.NodeID {
		return 0, nil, errf(http.StatusForbidden, codeForbidden, "session %s is not reserved on node %s", s.ID, b.NodeID)
	}
	if s.State == st {
		return http.StatusOK, s, nil // a repeated report is not an error
	}
	// ExpectState pins the state the node check saw, so a session that
	// changed meanwhile is refused (409) rather than moved on a stale
	// view. It does not close a full re-placement back to the same state
	// between check and apply (ABA); that needs the node id in the
	// command, a registry change left for later.
	v, err := o.reg.Apply(c.ctx, &registry.SetSessionState{
		ID: s.ID, State: st, ExpectState: s.State, Reason: truncate(b.Reason, 256), At: time.Now().UTC(),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}
