package origin

import (
	"net/http"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/registry"
)

// A node is authorised as itself, from its certificate: it registers and
// updates only its own record, reports only on sessions reserved on it,
// lists only its own assignments, reads only the apps of those sessions
// and mints publisher tokens only for them. The checks live beside the
// handlers; these are the shared ones.

// mayActAs refuses a node acting for another node, or in another role.
// Admin keys may act for any node.
func (p principal) mayActAs(nodeID, role string) error {
	if !p.isNode() {
		return nil
	}
	if p.node.NodeID != nodeID || p.node.Role != role {
		return api.Errorf(http.StatusForbidden, api.CodeForbidden, "%s may act only as itself, not as %s %s", p, role, truncate(nodeID, 80))
	}
	return nil
}

// runsApp reports whether a session of app is reserved on node.
func (o *Origin) runsApp(node, app string) bool {
	ss, _ := o.reg.State().Sessions(registry.SessionFilter{NodeID: node})
	for _, s := range ss {
		if s.AppID == app {
			return true
		}
	}
	return false
}
