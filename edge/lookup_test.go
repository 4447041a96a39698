package edge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/strata-edge/strata/api"
)

// apiFunc fakes the origins with a function: it gets the method and
// escaped path and answers with a JSON body or an error (an *api.Error is
// answered as one; others fail the exchange).
type apiFunc func(method, path string) (string, error)

func (f apiFunc) client() *api.Client {
	return fakeClient(func(r *http.Request) (*http.Response, error) {
		body, err := f(r.Method, r.URL.EscapedPath())
		var e *api.Error
		switch {
		case errors.As(err, &e):
			return answer(1, e), nil
		case err != nil:
			return nil, err
		}
		return answer(1, json.RawMessage(body)), nil
	})
}

func TestRegistryLookup(t *testing.T) {
	down := errors.New("no origin reachable")
	r := registryLookup{api: apiFunc(func(method, path string) (string, error) {
		switch method + " " + path {
		case "GET /v1/sessions/s1":
			return `{"id":"s1","tenant_id":"t1","reservation":{"node_id":"edge-2"}}`, nil
		case "GET /v1/sessions/gone":
			return "", &api.Error{Status: http.StatusNotFound, Code: "not_found"}
		case "GET /v1/sessions/bad%20id":
			return "", &api.Error{Status: http.StatusBadRequest, Code: "invalid"}
		case "GET /v1/nodes/edge-2":
			return `{"id":"edge-2","addrs":{"quic":"10.0.0.2:4443"}}`, nil
		case "POST /v1/nodes/edge-1/relay-token":
			return `{"token":"tok","expires_at":"2027-01-15T08:00:00Z"}`, nil
		case "GET /v1/cluster/keys":
			return `{"keys":[]}`, nil
		}
		return "", down
	}).client()}
	ctx := context.Background()

	if s, err := r.Session(ctx, "s1"); err != nil || s.TenantID != "t1" || s.Reservation == nil || s.Reservation.NodeID != "edge-2" {
		t.Fatalf("Session = %+v, %v", s, err)
	}
	for _, id := range []string{"gone", "bad id"} {
		if _, err := r.Session(ctx, id); !errors.Is(err, errNotInRegistry) {
			t.Fatalf("Session(%q): %v, want errNotInRegistry", id, err)
		}
	}
	if _, err := r.Session(ctx, "other"); !errors.Is(err, down) || errors.Is(err, errNotInRegistry) {
		t.Fatalf("Session with origins down: %v", err)
	}
	if n, err := r.Node(ctx, "edge-2"); err != nil || n.Addrs["quic"] != "10.0.0.2:4443" {
		t.Fatalf("Node = %+v, %v", n, err)
	}
	if tok, exp, err := r.RelayToken(ctx, "edge-1"); err != nil || tok != "tok" || exp.IsZero() {
		t.Fatalf("RelayToken = %q, %v, %v", tok, exp, err)
	}
	if doc, err := r.TokenKeys(ctx); err != nil || string(doc) != `{"keys":[]}` {
		t.Fatalf("TokenKeys = %s, %v", doc, err)
	}
}
