package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/registry"
)

// edgeReportable are the states an edge may report: the ones its runtime
// observes. Everything else (placement, hibernation, termination) belongs
// to the control plane.
var edgeReportable = []api.SessionState{api.StateStarting, api.StateRunning, api.StateFailed}

// setSessionState records what the session's edge observed of its
// instance: starting, running or failed (an exit, which the app's restart
// policy turns into failed, terminated or pending). Only the edge holding the
// session's reservation may report, so a stale edge (one that lost the
// session to a re-placement) cannot move it; the FSM validates the
// transition.
func (o *Origin) setSessionState(c *call) (int, any, error) {
	var b api.SessionStateReport
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := oneOf("state", b.State, edgeReportable); err != nil {
		return 0, nil, err
	}
	st, _ := registry.ParseSessionState(string(b.State))
	s, err := o.reportedSession(c, b.NodeID)
	if err != nil {
		return 0, nil, err
	}
	if s.State == st {
		return http.StatusOK, toAPISession(s), nil // a repeated report is not an error
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
	return http.StatusOK, toAPISession(v), nil
}

// setSessionSource records what the session's ingest edge saw of its
// publisher: live when one arrived, gone when it left, so the registry
// (and players asking for the session) can tell a stopped source from a
// running session. Only the edge holding the reservation may report
// (reportedSession); the command names that node, so the FSM refuses the
// report if the session moved between the check and the commit. Repeating
// the recorded source commits nothing.
func (o *Origin) setSessionSource(c *call) (int, any, error) {
	var b api.SessionSourceReport
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := oneOf("source", b.Source, []api.SessionSource{api.SourceLive, api.SourceGone}); err != nil {
		return 0, nil, err
	}
	src, _ := registry.ParseSessionSource(string(b.Source))
	s, err := o.reportedSession(c, b.NodeID)
	if err != nil {
		return 0, nil, err
	}
	if s.Source == src {
		return http.StatusOK, toAPISession(s), nil
	}
	v, err := o.reg.Apply(c.cx, &registry.SetSessionSource{
		ID: s.ID, NodeID: s.Reservation.NodeID, Source: src, At: time.Now().UTC(),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPISession(v.(*registry.Session)), nil
}
