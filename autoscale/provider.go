package autoscale

import "context"

// Action is what a provider is asked to do for one decision: add nodes
// to a pool, or remove exactly the named (drained) nodes. DecisionID is
// unique per decision; a provider that may see an action again (a retry
// by an operator's tooling) can use it to act only once.
type Action struct {
	DecisionID string   `json:"decision_id"`
	Pool       string   `json:"pool"`
	Region     string   `json:"region"`
	Class      string   `json:"class,omitempty"`
	Add        int      `json:"add,omitempty"`
	Remove     []string `json:"remove,omitempty"`
}

// Provider carries out actions on the infrastructure.
type Provider interface {
	Scale(ctx context.Context, a Action) error
}
