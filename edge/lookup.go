package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
)

// errNotInRegistry marks a registry read of something the origins do not
// have (or refuse to name), as opposed to origins that did not answer.
var errNotInRegistry = errors.New("not in the registry")

// registryLookup is every registry read the media plane makes, over the
// origin client. Each part of the media plane depends only on the small
// interface it declares, which this satisfies, so changing the origin
// client changes this file and the wiring.
type registryLookup struct{ api *api.Client }

var (
	_ ingestRegistry   = registryLookup{}
	_ nodeLookup       = registryLookup{}
	_ relayTokenIssuer = registryLookup{}
)

// Session reads a session; a 404 or 400 wraps errNotInRegistry.
func (r registryLookup) Session(ctx context.Context, id string) (api.Session, error) {
	s, err := r.api.Sessions().Get(ctx, id, "")
	if err != nil {
		if st := api.StatusOf(err); st == http.StatusNotFound || st == http.StatusBadRequest {
			return api.Session{}, fmt.Errorf("%w: %w", errNotInRegistry, err)
		}
		return api.Session{}, err
	}
	return *s, nil
}

// Node reads a node's registration.
func (r registryLookup) Node(ctx context.Context, id string) (api.Node, error) {
	n, err := r.api.Nodes().Get(ctx, id, "")
	if err != nil {
		return api.Node{}, err
	}
	return n.Node, nil
}

// RelayToken asks for a relay-role token for node.
func (r registryLookup) RelayToken(ctx context.Context, node string) (string, time.Time, error) {
	ans, err := r.api.Nodes().RelayToken(ctx, node)
	if err != nil {
		return "", time.Time{}, err
	}
	return ans.Token, ans.ExpiresAt, nil
}

// TokenKeys reads the origins' token keys as a JWKS document.
func (r registryLookup) TokenKeys(ctx context.Context) ([]byte, error) {
	set, err := r.api.Cluster().Keys(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(set)
}
