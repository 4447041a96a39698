package origin

import (
	"net/http"

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
	// ExitCode is the instance's exit status when state is failed and
	// the edge knows it; 0 is a clean exit (restart_policy on-failure
	// then ends the session instead of restarting it).
	ExitCode *int `json:"exit_code,omitempty"`
}

// edgeReportable are the states an edge may report: the ones its runtime
// observes. Everything else (placement, hibernation, termination) belongs
// to the control plane.
var edgeReportable = []string{
	registry.StateStarting.String(), registry.StateRunning.String(), registry.StateFailed.String(),
}

// setSessionState records what the session's edge observed of its
// instance: starting, running or failed (an exit, which the app's restart
// policy turns into failed, terminated or pending). Only the edge holding the
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
	s, err := o.reportedSession(c, b.NodeID)
	if err != nil {
		return 0, nil, err
	}
	if s.State == st {
		return http.StatusOK, s, nil // a repeated report is not an error
	}
	// ExpectState pins the state the node check saw, so a session that
	// changed meanwhile is refused (409) rather than moved on a stale
	// view. It does not close a full re-placement back to the same state
	// between check and apply (ABA); that needs the node id in the
	// command, a registry change left for later.
	v, err := o.lifecycle.Report(c.cx, s, st, b.ExitCode, truncate(b.Reason, 256))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}
