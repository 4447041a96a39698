package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/strata-edge/strata/registry/client"
)

// errNotInRegistry marks a registry read of something the origins do not
// have (or refuse to name), as opposed to origins that did not answer.
var errNotInRegistry = errors.New("not in the registry")

// registryLookup is every registry read the media plane makes, over the
// origin client. Each part of the media plane depends only on the small
// interface it declares, which this satisfies, so changing the origin
// client changes this file and the wiring.
type registryLookup struct{ api originAPI }

var (
	_ ingestRegistry   = registryLookup{}
	_ nodeLookup       = registryLookup{}
	_ relayTokenIssuer = registryLookup{}
)

// Session reads a session (GET /v1/sessions/{id}); a 404 or 400 wraps
// errNotInRegistry.
func (r registryLookup) Session(ctx context.Context, id string) (client.Session, error) {
	var s client.Session
	if _, err := r.api.DoIndex(ctx, "GET", "/v1/sessions/"+url.PathEscape(id), nil, &s); err != nil {
		var apiErr *client.Error
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusBadRequest) {
			return client.Session{}, fmt.Errorf("%w: %w", errNotInRegistry, err)
		}
		return client.Session{}, err
	}
	return s, nil
}

// Node reads a node's registration (GET /v1/nodes/{id}).
func (r registryLookup) Node(ctx context.Context, id string) (originNode, error) {
	var n originNode
	_, err := r.api.DoIndex(ctx, "GET", "/v1/nodes/"+url.PathEscape(id), nil, &n)
	return n, err
}

// RelayToken asks for a relay-role token for node (POST
// /v1/nodes/{id}/relay-token).
func (r registryLookup) RelayToken(ctx context.Context, node string) (string, time.Time, error) {
	var ans struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if _, err := r.api.DoIndex(ctx, "POST", "/v1/nodes/"+url.PathEscape(node)+"/relay-token", nil, &ans); err != nil {
		return "", time.Time{}, err
	}
	return ans.Token, ans.ExpiresAt, nil
}

// TokenKeys reads the origins' token keys as a JWKS document (GET
// /v1/cluster/keys).
func (r registryLookup) TokenKeys(ctx context.Context) ([]byte, error) {
	var doc json.RawMessage
	if _, err := r.api.DoIndex(ctx, "GET", "/v1/cluster/keys", nil, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
