package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
)

// loadOpenAPISpec parses and validates the embedded API description.
func loadOpenAPISpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPISpec())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPISpecValid(t *testing.T) {
	doc := loadOpenAPISpec(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi version %q, want 3.0.3", doc.OpenAPI)
	}
	if _, ok := doc.Components.SecuritySchemes["bearerAuth"]; !ok {
		t.Error("components.securitySchemes.bearerAuth missing")
	}
}

// TestOpenAPIRoutesMatch checks that the spec and the route table describe
// the same operations: nothing missing, nothing stale.
func TestOpenAPIRoutesMatch(t *testing.T) {
	doc := loadOpenAPISpec(t)
	isPublic := map[string]bool{"GET /metrics": true}
	inTable := map[string]bool{"GET /metrics": true}
	for _, rt := range (&Origin{}).routes() {
		op := rt.method + " " + rt.path
		if inTable[op] {
			t.Errorf("route table lists %s twice", op)
		}
		inTable[op] = true
		isPublic[op] = rt.access == public
	}
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			inSpec[key] = true
			if !inTable[key] {
				t.Errorf("spec describes %s, which is not in the route table", key)
				continue
			}
			open := op.Security != nil && len(*op.Security) == 0
			if open != isPublic[key] {
				t.Errorf("%s: spec says public=%v, route table says %v", key, open, isPublic[key])
			}
		}
	}
	var missing []string
	for op := range inTable {
		if !inSpec[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	for _, op := range missing {
		t.Errorf("route %s is not in openapi.yaml", op)
	}
}

// specClient sends requests to a live origin and checks each exchange
// against the spec.
type specClient struct {
	t      *testing.T
	base   string
	doc    *openapi3.T
	router routers.Router
	http   *http.Client
	// last is the status of the latest exchange.
	last int
}

// req is one request and what the test expects of it.
type req struct {
	method, path string
	token        string
	body         string
	contentType  string // default application/json when body is set
	status       int
	// orStatus, when set, is a second acceptable status.
	orStatus int
	// specRejects marks requests the spec itself should reject (bad IDs,
	// bodies, missing credentials): the server must reject them too.
	specRejects bool
}

func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && tok != "" {
		return nil
	}
	return errors.New("no bearer token")
}

func (c *specClient) newRequest(r req) *http.Request {
	c.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, c.base+r.path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	return hr
}

// do sends r, checks the status and validates the request and response
// against the spec; it returns the decoded JSON body (nil if none).
func (c *specClient) do(r req) map[string]any {
	c.t.Helper()
	name := r.method + " " + r.path

	// The request, as the spec sees it.
	vreq := c.newRequest(r)
	route, params, routeErr := c.router.FindRoute(vreq)
	var input *openapi3filter.RequestValidationInput
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: bearerOnly},
		}
		err := openapi3filter.ValidateRequest(context.Background(), input)
		switch {
		case err != nil && !r.specRejects:
			c.t.Errorf("%s: spec rejects the request: %v", name, err)
		case err == nil && r.specRejects:
			c.t.Errorf("%s: spec accepts a request the server must reject", name)
		}
	}

	// The real exchange.
	resp, err := c.http.Do(c.newRequest(r))
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s: read body: %v", name, err)
	}
	c.last = resp.StatusCode
	if resp.StatusCode != r.status && (r.orStatus == 0 || resp.StatusCode != r.orStatus) {
		c.t.Fatalf("%s: status %d, want %d; body %s", name, resp.StatusCode, r.status, body)
	}
	var decoded map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			c.t.Fatalf("%s: response is not JSON: %v: %s", name, err, body)
		}
		// Objects are returned; arrays (Prometheus service discovery)
		// are checked against the spec only.
		decoded, _ = v.(map[string]any)
	}

	if routeErr != nil {
		// No operation in the spec (404/405 from the router): the body
		// must still be the error envelope.
		var re *routers.RouteError
		if !errors.As(routeErr, &re) {
			c.t.Fatalf("%s: find route: %v", name, routeErr)
		}
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			c.t.Fatalf("%s: no operation in the spec: %v", name, routeErr)
		}
		c.checkErrorEnvelope(name, resp.Header, decoded)
		return decoded
	}

	if route.Operation.Responses.Status(resp.StatusCode) == nil {
		c.t.Errorf("%s: status %d is not documented (only the default response matches)", name, resp.StatusCode)
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.t.Errorf("%s: response %d does not match the spec: %v\nbody: %s", name, resp.StatusCode, err, body)
	}
	if decoded != nil {
		if mt := responseSchema(route.Operation, resp.StatusCode); mt != nil {
			for _, f := range undeclared(mt, decoded, "$") {
				c.t.Errorf("%s: response field %s is not in the spec", name, f)
			}
		}
	}
	return decoded
}

func (c *specClient) checkErrorEnvelope(name string, h http.Header, body map[string]any) {
	c.t.Helper()
	if h.Get(api.HeaderIndex) == "" {
		c.t.Errorf("%s: no %s header", name, api.HeaderIndex)
	}
	if body == nil {
		c.t.Errorf("%s: no JSON error body", name)
		return
	}
	if err := c.doc.Components.Schemas["Error"].Value.VisitJSON(body); err != nil {
		c.t.Errorf("%s: error body does not match the Error schema: %v", name, err)
	}
}

// responseSchema is the JSON schema the operation declares for status.
func responseSchema(op *openapi3.Operation, status int) *openapi3.Schema {
	rr := op.Responses.Status(status)
	if rr == nil {
		rr = op.Responses.Default()
	}
	if rr == nil || rr.Value == nil {
		return nil
	}
	mt := rr.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// undeclared lists the object fields in v that schema s does not declare,
// so the spec cannot silently fall behind the server.
func undeclared(s *openapi3.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		var extra *openapi3.Schema
		collectShape(s, props, &extra)
		if len(props) == 0 && extra == nil {
			return nil // free-form object
		}
		for k, val := range v {
			switch {
			case props[k] != nil:
				out = append(out, undeclared(props[k], val, at+"."+k)...)
			case extra != nil:
				out = append(out, undeclared(extra, val, at+"."+k)...)
			default:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		if s.Items != nil {
			for i, e := range v {
				out = append(out, undeclared(s.Items.Value, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

func collectShape(s *openapi3.Schema, props map[string]*openapi3.Schema, extra **openapi3.Schema) {
	for name, p := range s.Properties {
		props[name] = p.Value
	}
	if ap := s.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
		*extra = ap.Value
	}
	for _, sub := range s.AllOf {
		collectShape(sub.Value, props, extra)
	}
}

// str reads a string field of a decoded JSON object.
func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok || s == "" {
		t.Fatalf("field %q missing in %v", key, m)
	}
	return s
}

func items(t *testing.T, m map[string]any) []any {
	t.Helper()
	l, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", m)
	}
	return l
}

// TestOpenAPILiveResponses runs a real origin and checks that what it
// answers, errors included, is what the spec says.
func TestOpenAPILiveResponses(t *testing.T) {
	doc := loadOpenAPISpec(t)
	doc.Servers = nil // match paths on any host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	cfg := Defaults()
	cfg.NodeID = "o1"
	cfg.DataDir = t.TempDir()
	cfg.Bootstrap = true
	cfg.API.Addr = "127.0.0.1:0"
	cfg.Raft.Addr = "127.0.0.1:0"
	// Not the default gossip port: another test binary may hold it.
	gossipAddr, err := netutil.FreeLoopbackAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gossip.Addr = gossipAddr[0]
	cfg.AdminToken = strings.Repeat("a", 40)
	// A slow refill behind a bucket larger than this test needs, so the
	// last step can run a key dry and see 429.
	cfg.API.RateLimit = 1
	cfg.API.RateBurst = 150
	o, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	stopNow, cancel := context.WithCancel(context.Background())
	cancel()
	defer o.Close(stopNow)

	deadline := time.Now().Add(20 * time.Second)
	poll.For(t, time.Until(deadline), 10*time.Millisecond, func() error {
		if _, hasKey := o.Registry().State().ActiveSigningKey(); !o.Registry().IsLeader() || !hasKey {
			return errors.New("origin did not become leader with a signing key")
		}
		return nil
	})
	// The admin key is written by the same housekeeping; wait for it too.
	poll.For(t, time.Until(deadline), 10*time.Millisecond, func() error {
		if _, ok := o.Registry().State().APIKey(adminKeyID); !ok {
			return errors.New("admin key not created")
		}
		return nil
	})

	tr := &http.Transport{TLSClientConfig: pki.TrustConfig(o.CA())}
	defer tr.CloseIdleConnections()
	c := &specClient{t: t, base: "https://" + o.APIAddr(), doc: doc, router: router, http: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	admin := cfg.AdminToken

	// Public routes.
	c.do(req{method: "GET", path: "/healthz", status: 200})
	c.do(req{method: "GET", path: "/readyz", status: 200})
	c.do(req{method: "GET", path: "/v1/openapi.yaml", status: 200})
	c.do(req{method: "GET", path: "/metrics", status: 200})
	jwks := c.do(req{method: "GET", path: "/v1/cluster/keys", status: 200})
	if n := len(jwks["keys"].([]any)); n != 1 {
		t.Errorf("JWKS has %d keys, want 1", n)
	}

	// Tenants.
	c.do(req{method: "GET", path: "/v1/tenants", status: 401, specRejects: true})
	c.do(req{method: "GET", path: "/v1/tenants", token: "key_nope", status: 401})
	ten := c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 201,
		body: `{"name":"acme","quota":{"max_sessions":10},"labels":{"tier":"gold"}}`})
	tenantID := str(t, ten, "id")
	spare := c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 201, body: `{"name":"spare"}`})
	spareID := str(t, spare, "id")
	page := c.do(req{method: "GET", path: "/v1/tenants?limit=1", token: admin, status: 200})
	cursor := str(t, page, "next_cursor")
	page = c.do(req{method: "GET", path: "/v1/tenants?consistency=consistent&cursor=" + cursor, token: admin, status: 200})
	if n := len(items(t, page)); n != 1 {
		t.Errorf("second page has %d tenants, want 1", n)
	}
	c.do(req{method: "GET", path: "/v1/tenants/" + tenantID + "?consistency=lease", token: admin, status: 200})
	c.do(req{method: "PATCH", path: "/v1/tenants/" + tenantID, token: admin, status: 200,
		body: `{"labels":{"tier":"silver"},"quota":{"max_sessions":5,"max_gpus":2}}`})

	// Keys, then act as the tenant.
	key := c.do(req{method: "POST", path: "/v1/tenants/" + tenantID + "/keys", token: admin, status: 201, body: `{"name":"ci"}`})
	keyID, tenantTok := str(t, key, "id"), str(t, key, "token")
	c.do(req{method: "POST", path: "/v1/tenants/" + tenantID + "/keys", token: tenantTok, status: 201,
		body: `{"name":"short-lived","expires_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`})
	c.do(req{method: "GET", path: "/v1/tenants/" + tenantID + "/keys", token: tenantTok, status: 200})
	if n := len(items(t, c.do(req{method: "GET", path: "/v1/tenants", token: tenantTok, status: 200}))); n != 1 {
		t.Errorf("tenant key sees %d tenants, want 1", n)
	}
	c.do(req{method: "GET", path: "/v1/tenants/" + spareID, token: tenantTok, status: 404})
	c.do(req{method: "POST", path: "/v1/tenants", token: tenantTok, status: 403, body: `{"name":"nope"}`})
	c.do(req{method: "GET", path: "/v1/nodes", token: tenantTok, status: 403})

	// Apps.
	appBody := `{"name":"desktop","runtime":"process","command":["/usr/bin/desktop","--fps","60"],"env":{"MODE":"demo"},"egress_mbps":20}`
	app := c.do(req{method: "POST", path: "/v1/apps", token: tenantTok, status: 201, body: appBody})
	appID := str(t, app, "id")
	c.do(req{method: "POST", path: "/v1/apps", token: tenantTok, status: 409, body: appBody})
	c.do(req{method: "POST", path: "/v1/apps", token: admin, status: 400, body: `{"name":"x","command":["true"]}`})
	c.do(req{method: "POST", path: "/v1/apps", token: tenantTok, status: 400, body: `{"name":"x"}`})
	c.do(req{method: "GET", path: "/v1/apps", token: tenantTok, status: 200})
	c.do(req{method: "GET", path: "/v1/apps?tenant_id=" + tenantID + "&limit=10", token: admin, status: 200})
	c.do(req{method: "GET", path: "/v1/apps/" + appID, token: tenantTok, status: 200})

	// Sessions.
	ses := c.do(req{method: "POST", path: "/v1/sessions", token: tenantTok, status: 201,
		body: `{"app_id":"` + appID + `","region":"eu-west","lat":48.85,"lon":2.35,"labels":{"user":"u1"},"egress_mbps":15}`})
	sesID := str(t, ses, "id")
	c.do(req{method: "POST", path: "/v1/sessions", token: tenantTok, status: 400, body: `{"app_id":"` + appID + `","lat":1}`})
	c.do(req{method: "GET", path: "/v1/sessions?index=1&wait=5s&app_id=" + appID, token: tenantTok, status: 200})
	c.do(req{method: "GET", path: "/v1/sessions?consistency=lease&state=terminated&limit=5", token: admin, status: 200})
	c.do(req{method: "GET", path: "/v1/sessions/" + sesID, token: tenantTok, status: 200})
	// Hibernate and wake refuse a session in the wrong state; an idle
	// report needs a reservation.
	c.do(req{method: "POST", path: "/v1/sessions/" + sesID + "/hibernate", token: tenantTok, status: 409})
	c.do(req{method: "POST", path: "/v1/sessions/" + sesID + "/wake", token: tenantTok, status: 409})
	c.do(req{method: "POST", path: "/v1/sessions/" + sesID + "/idle", token: admin, status: 409, body: `{"idle_seconds":60}`})
	c.do(req{method: "POST", path: "/v1/sessions/" + sesID + "/idle", token: admin, status: 400, body: `{"idle_seconds":-1}`, specRejects: true})
	c.do(req{method: "POST", path: "/v1/sessions/" + sesID + "/hibernate", token: admin, status: 409})
	done := c.do(req{method: "DELETE", path: "/v1/sessions/" + sesID + "?reason=done", token: tenantTok, status: 200})
	if done["state"] != "terminated" || done["reason"] != "done" {
		t.Errorf("terminated session: state %v reason %v", done["state"], done["reason"])
	}
	c.do(req{method: "DELETE", path: "/v1/sessions/" + sesID, token: tenantTok, status: 409})
	c.do(req{method: "GET", path: "/v1/sessions/ses_" + strings.Repeat("0", 26), token: tenantTok, status: 404})
	c.do(req{method: "GET", path: "/v1/sessions/not-an-id", token: tenantTok, status: 400, specRejects: true})
	c.do(req{method: "DELETE", path: "/v1/apps/" + appID, token: tenantTok, status: 204})
	c.do(req{method: "GET", path: "/v1/apps/" + appID, token: tenantTok, status: 404})

	// Revoke the tenant key: it stops working.
	c.do(req{method: "DELETE", path: "/v1/tenants/" + tenantID + "/keys/" + keyID, token: admin, status: 204})
	c.do(req{method: "GET", path: "/v1/apps", token: tenantTok, status: 401})

	// Nodes and cluster.
	nodes := c.do(req{method: "GET", path: "/v1/nodes?role=origin&index=1", token: admin, status: 200})
	if n := len(items(t, nodes)); n != 1 {
		t.Errorf("%d origins listed, want 1", n)
	}
	c.do(req{method: "GET", path: "/v1/nodes/o1?consistency=consistent", token: admin, status: 200})
	c.do(req{method: "GET", path: "/v1/nodes/nope", token: admin, status: 404})
	c.do(req{method: "GET", path: "/v1/nodes/-bad", token: admin, status: 400, specRejects: true})
	c.do(req{method: "GET", path: "/v1/cluster", token: admin, status: 200})
	c.do(req{method: "GET", path: "/v1/cluster", token: tenantTok, status: 401})
	c.do(req{method: "GET", path: "/v1/prometheus/targets", token: admin, status: 200})
	c.do(req{method: "GET", path: "/v1/prometheus/targets", token: tenantTok, status: 401})
	c.do(req{method: "GET", path: "/v1/prometheus/targets", status: 401, specRejects: true})
	c.do(req{method: "POST", path: "/v1/cluster/keys/rotate", token: admin, status: 200})
	if jwks := c.do(req{method: "GET", path: "/v1/cluster/keys", status: 200}); len(jwks["keys"].([]any)) != 2 {
		t.Errorf("JWKS after rotation: %v", jwks)
	}
	c.do(req{method: "POST", path: "/v1/cluster/join", token: admin, status: 400, specRejects: true,
		body: `{"id":"-bad","raft_addr":"127.0.0.1:1","api_addr":"127.0.0.1:2"}`})
	c.do(req{method: "DELETE", path: "/v1/cluster/peers/nope", token: admin, status: 404})

	// PKI: the CA for anyone, join tokens for admins, enrollment for a
	// join token's holder, renewal only for a node's own certificate.
	if ca := c.do(req{method: "GET", path: "/v1/pki/ca", status: 200}); ca["fingerprint"] != pki.Fingerprint(o.CA()) {
		t.Errorf("CA fingerprint %v", ca["fingerprint"])
	}
	jt := c.do(req{method: "POST", path: "/v1/cluster/join-tokens", token: admin, status: 201, body: `{"name":"edges","max_uses":1}`})
	c.do(req{method: "POST", path: "/v1/cluster/join-tokens", token: tenantTok, status: 401, body: `{"name":"edges"}`})
	c.do(req{method: "POST", path: "/v1/cluster/join-tokens", token: admin, status: 400, specRejects: true, body: `{"name":"edges","role":"viewer"}`})
	c.do(req{method: "GET", path: "/v1/cluster/join-tokens", token: admin, status: 200})
	nodeKey, _ := pki.NewKey()
	csrDER, _ := pki.NewCSR(nodeKey, pki.Identity{Role: pki.RoleEdge, NodeID: "e1"})
	csr, _ := json.Marshal(pki.CSRPEM(csrDER))
	enroll := `{"node_id":"e1","csr":` + string(csr) + `}`
	c.do(req{method: "POST", path: "/v1/pki/enroll", token: "jt_0000000000000000000000000a.nope", status: 401, body: enroll})
	c.do(req{method: "POST", path: "/v1/pki/enroll", token: jt["token"].(string), status: 200, body: enroll})
	c.do(req{method: "POST", path: "/v1/pki/enroll", token: jt["token"].(string), status: 401, body: enroll}) // used up
	c.do(req{method: "POST", path: "/v1/pki/renew", token: admin, status: 403, body: `{"csr":` + string(csr) + `}`})
	c.do(req{method: "DELETE", path: "/v1/cluster/join-tokens/" + jt["id"].(string), token: admin, status: 204})
	c.do(req{method: "DELETE", path: "/v1/cluster/join-tokens/" + jt["id"].(string), token: admin, status: 404})

	// Malformed requests.
	c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 400, specRejects: true, body: `{`})
	c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 400, specRejects: true, body: `{"name":"x","bogus":1}`})
	c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 400, specRejects: true, body: `{"name":""}`})
	c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 415, specRejects: true, body: `name=x`, contentType: "text/plain"})
	big := `{"name":"big","labels":{"k":"` + strings.Repeat("x", 70<<10) + `"}}`
	c.do(req{method: "POST", path: "/v1/tenants", token: admin, status: 413, specRejects: true, body: big})
	c.do(req{method: "GET", path: "/v1/tenants?consistency=bogus", token: admin, status: 400, specRejects: true})
	c.do(req{method: "GET", path: "/v1/tenants?limit=0", token: admin, status: 400, specRejects: true})
	c.do(req{method: "GET", path: "/v1/tenants/ten_bad", token: admin, status: 400, specRejects: true})
	c.do(req{method: "GET", path: "/v1/nope", token: admin, status: 404})
	c.do(req{method: "PUT", path: "/v1/tenants", token: admin, status: 405, body: `{}`})

	c.do(req{method: "DELETE", path: "/v1/tenants/" + spareID, token: admin, status: 204})
	c.do(req{method: "DELETE", path: "/v1/tenants/" + spareID, token: admin, status: 404})

	// Run the admin key out of tokens: 429 with Retry-After.
	for i := 0; c.last != http.StatusTooManyRequests; i++ {
		if i > 200 {
			t.Fatal("no 429 after 200 requests")
		}
		c.do(req{method: "GET", path: "/v1/tenants?limit=1", token: admin, status: 200, orStatus: 429})
	}
}

// wireTypes names the api type of every object schema in the spec.
var wireTypes = map[string]any{
	"Error":                 api.ErrorResponse{},
	"Health":                api.Health{},
	"Ready":                 api.Ready{},
	"Quota":                 api.Quota{},
	"QuotaInput":            api.Quota{},
	"TenantUsage":           api.TenantUsage{},
	"TenantCreate":          api.TenantCreate{},
	"TenantUpdate":          api.TenantUpdate{},
	"Tenant":                api.Tenant{},
	"TenantList":            api.List[api.Tenant]{},
	"KeyCreate":             api.KeyCreate{},
	"APIKey":                api.APIKey{},
	"CreatedAPIKey":         api.CreatedKey{},
	"JoinTokenCreate":       api.JoinTokenCreate{},
	"JoinToken":             api.JoinToken{},
	"CreatedJoinToken":      api.CreatedJoinToken{},
	"JoinTokenList":         api.List[api.JoinToken]{},
	"ClusterCA":             api.ClusterCA{},
	"EnrollRequest":         api.EnrollRequest{},
	"RenewRequest":          api.RenewRequest{},
	"NodeCertificate":       api.NodeCertificate{},
	"APIKeyList":            api.List[api.APIKey]{},
	"AppCreate":             api.AppSpec{},
	"App":                   api.App{},
	"AppList":               api.List[api.App]{},
	"SessionStateReport":    api.SessionStateReport{},
	"SessionIdleReport":     api.SessionIdleReport{},
	"SessionSourceReport":   api.SessionSourceReport{},
	"SessionCreate":         api.SessionSpec{},
	"GPUSlice":              api.GPUSlice{},
	"Reservation":           api.Reservation{},
	"Session":               api.Session{},
	"SessionList":           api.List[api.Session]{},
	"GPU":                   api.GPU{},
	"Node":                  api.Node{},
	"GPUMemoryUsage":        api.GPUMemoryUsage{},
	"ReservedCapacity":      api.ReservedCapacity{},
	"NodeView":              api.NodeView{},
	"LiveLoad":              api.LiveLoad{},
	"NodeRegister":          api.NodeRegistration{},
	"ViewerRequest":         api.ViewerRequest{},
	"ViewerAnswer":          api.ViewerAnswer{},
	"PublisherAnswer":       api.PublisherAnswer{},
	"RelayToken":            api.RelayToken{},
	"PlacementExplanation":  api.PlacementExplanation{},
	"NodeList":              api.List[api.NodeView]{},
	"Peer":                  api.Peer{},
	"ClusterStatus":         api.ClusterStatus{},
	"JoinRequest":           api.JoinRequest{},
	"PrometheusTargetGroup": api.PrometheusTargetGroup{},
	"Autoscaler":            api.Autoscaler{},
	"AutoscalerPool":        api.AutoscalerPool{},
	"ScaleDecision":         api.ScaleDecision{},
	"LeaderChange":          api.LeaderChange{},
	"JWK":                   api.JWK{},
	"JWKS":                  api.JWKS{},
	"RotatedKey":            api.RotatedKey{},
}

// TestOpenAPIMatchesAPITypes keeps package api and the spec in agreement:
// every object schema has an api type whose JSON fields are exactly the
// schema's properties (nested objects too), a required property is never
// omitted when empty, and every enumeration lists the api constants.
func TestOpenAPIMatchesAPITypes(t *testing.T) {
	doc := loadOpenAPISpec(t)
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		props := map[string]*openapi3.Schema{}
		var extra *openapi3.Schema
		collectShape(s, props, &extra)
		typ, ok := wireTypes[name]
		switch {
		case !ok && len(props) > 0:
			t.Errorf("schema %s has no api type in wireTypes", name)
			continue
		case !ok:
			continue
		}
		checkFields(t, name, s, reflect.TypeOf(typ))
	}
	enums := map[string][]string{
		"SessionState":  strs(api.SessionStates),
		"NodeRole":      strs(api.NodeRoles),
		"NodeState":     strs(api.NodeStates),
		"KeyScope":      strs(api.KeyScopes),
		"Runtime":       strs(api.Runtimes),
		"IdlePolicy":    strs(api.IdlePolicies),
		"RestartPolicy": strs(api.RestartPolicies),
	}
	codes := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value
	enums["Error.error.code"] = strs(api.Codes)
	for name, want := range enums {
		s := codes
		if r, ok := doc.Components.Schemas[name]; ok {
			s = r.Value
		}
		var got []string
		for _, v := range s.Enum {
			got = append(got, fmt.Sprint(v))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: spec enum %v, api constants %v", name, got, want)
		}
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// checkFields compares the JSON fields of Go type typ with the properties
// of schema s, recursing into nested objects.
func checkFields(t *testing.T, at string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	props := map[string]*openapi3.Schema{}
	var extra *openapi3.Schema
	collectShape(s, props, &extra)
	if typ.Kind() != reflect.Struct || len(props) == 0 {
		return
	}
	required := map[string]bool{}
	collectRequired(s, required)
	fields := map[string]reflect.StructField{}
	omits := map[string]bool{}
	jsonFields(typ, fields, omits)
	for name, f := range fields {
		p, ok := props[name]
		if !ok {
			t.Errorf("%s: api field %s (%s.%s) is not in the spec", at, name, typ.Name(), f.Name)
			continue
		}
		if required[name] && omits[name] {
			t.Errorf("%s: %s is required by the spec but omitted when empty", at, name)
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			sub := p
			if p.Type.Is("array") && p.Items != nil {
				sub = p.Items.Value
			}
			checkFields(t, at+"."+name, sub, f.Type)
		}
	}
	for name := range props {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s: spec property %s has no field in api.%s", at, name, typ.Name())
		}
	}
}

func collectRequired(s *openapi3.Schema, out map[string]bool) {
	for _, r := range s.Required {
		out[r] = true
	}
	for _, sub := range s.AllOf {
		collectRequired(sub.Value, out)
	}
}

// jsonFields lists a struct's JSON field names as encoding/json sees them,
// with embedded structs flattened, and which are omitted when empty.
func jsonFields(typ reflect.Type, out map[string]reflect.StructField, omits map[string]bool) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, out, omits)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
		omits[name] = strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
	}
}

// TestOpenAPIMaxima checks that the spec documents the api bounds the
// origins enforce.
func TestOpenAPIMaxima(t *testing.T) {
	doc := loadOpenAPISpec(t)
	prop := func(schema, name string) *openapi3.Schema {
		return doc.Components.Schemas[schema].Value.Properties[name].Value
	}
	explain := doc.Paths.Value("/v1/placement/explain").Get
	param := func(name string) *openapi3.Schema {
		return explain.Parameters.GetByInAndName("query", name).Schema.Value
	}
	for name, c := range map[string]struct {
		s    *openapi3.Schema
		want float64
	}{
		"QuotaInput.max_sessions":           {prop("QuotaInput", "max_sessions"), api.MaxQuotaSessions},
		"QuotaInput.max_gpus":               {prop("QuotaInput", "max_gpus"), api.MaxQuotaGPUs},
		"QuotaInput.max_egress_mbps":        {prop("QuotaInput", "max_egress_mbps"), api.MaxQuotaEgressMbps},
		"AppCreate.gpus":                    {prop("AppCreate", "gpus"), api.MaxGPUs},
		"AppCreate.gpu_memory_mb":           {prop("AppCreate", "gpu_memory_mb"), api.MaxGPUMemoryMB},
		"AppCreate.egress_mbps":             {prop("AppCreate", "egress_mbps"), api.MaxEgressMbps},
		"AppCreate.idle_minutes":            {prop("AppCreate", "idle_minutes"), api.MaxIdleMinutes},
		"AppCreate.cpu_millis":              {prop("AppCreate", "cpu_millis"), api.MaxCPUMillis},
		"AppCreate.memory_mb":               {prop("AppCreate", "memory_mb"), api.MaxMemoryMB},
		"SessionCreate.gpus":                {prop("SessionCreate", "gpus"), api.MaxGPUs},
		"SessionCreate.gpu_memory_mb":       {prop("SessionCreate", "gpu_memory_mb"), api.MaxGPUMemoryMB},
		"SessionCreate.egress_mbps":         {prop("SessionCreate", "egress_mbps"), api.MaxEgressMbps},
		"SessionIdleReport.idle_seconds":    {prop("SessionIdleReport", "idle_seconds"), api.MaxIdleSeconds},
		"NodeRegister.nic_mbps":             {prop("NodeRegister", "nic_mbps"), api.MaxNICMbps},
		"GPU.memory_mb":                     {prop("GPU", "memory_mb"), api.MaxGPUMemoryMB},
		"explain gpus":                      {param("gpus"), api.MaxGPUs},
		"explain gpu_memory_mb":             {param("gpu_memory_mb"), api.MaxGPUMemoryMB},
		"explain egress_mbps":               {param("egress_mbps"), api.MaxEgressMbps},
		"NodeRegister.gpus (items at most)": {&openapi3.Schema{Max: ptrTo(float64(*prop("NodeRegister", "gpus").MaxItems))}, api.MaxGPUs},
	} {
		if c.s.Max == nil || *c.s.Max != c.want {
			t.Errorf("%s: spec maximum %v, api bound %v", name, c.s.Max, c.want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
