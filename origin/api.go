package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
)

// access says who may call a route.
type access uint8

const (
	public         access = iota // no credentials
	anyKey                       // any valid API key (tenant-scoped results)
	adminKey                     // admin keys only
	nodeKey                      // admin keys or nodes (by certificate)
	anyOrNode                    // any key, or a node
	nodeOnly                     // nodes only
	adminOrOrigin                // admin keys or origins
	adminOrMetrics               // admin keys or the metrics token (metrics.token)
)

// kind says where a route runs.
type kind uint8

const (
	local kind = iota // always on the receiving origin
	read              // local for stale reads, leader for lease/consistent
	write             // on the leader
)

// call is one API request as the handlers see it.
type call struct {
	ctx *fasthttp.RequestCtx
	// cx is the context for the call's work: the origin's lifetime, ended
	// when the handler returns. fasthttp recycles ctx after the response and
	// its Done is the server's, so contexts derived from it can outlive the
	// request and read a recycled one.
	cx   context.Context
	who  principal
	read registry.ReadMode
}

// handler answers a call with a status and a JSON body, or an error.
type handler func(c *call) (int, any, error)

type route struct {
	method, path string
	access       access
	kind         kind
	h            handler
}

// hdrForwarded marks a request forwarded between origins (loop guard).
const hdrForwarded = "X-Strata-Forwarded-By"

func (o *Origin) routes() []route {
	return []route{
		{"GET", "/healthz", public, local, o.healthz},
		{"GET", "/readyz", public, local, o.readyz},
		{"GET", "/v1/openapi.yaml", public, local, o.openapi},

		{"POST", "/v1/tenants", adminKey, write, o.createTenant},
		{"GET", "/v1/tenants", anyKey, read, o.listTenants},
		{"GET", "/v1/tenants/{id}", anyKey, read, o.getTenant},
		{"PATCH", "/v1/tenants/{id}", adminKey, write, o.updateTenant},
		{"DELETE", "/v1/tenants/{id}", adminKey, write, o.deleteTenant},
		{"POST", "/v1/tenants/{id}/keys", anyKey, write, o.createKey},
		{"GET", "/v1/tenants/{id}/keys", anyKey, read, o.listKeys},
		{"DELETE", "/v1/tenants/{id}/keys/{key}", anyKey, write, o.deleteKey},

		{"POST", "/v1/apps", anyKey, write, o.createApp},
		{"GET", "/v1/apps", anyKey, read, o.listApps},
		{"GET", "/v1/apps/{id}", anyOrNode, read, o.getApp},
		{"DELETE", "/v1/apps/{id}", anyKey, write, o.deleteApp},

		{"POST", "/v1/sessions", anyKey, write, o.createSession},
		{"GET", "/v1/sessions", anyOrNode, read, o.listSessions},
		{"GET", "/v1/sessions/{id}", anyOrNode, read, o.getSession},
		{"DELETE", "/v1/sessions/{id}", anyKey, write, o.terminateSession},
		{"POST", "/v1/sessions/{id}/viewers", anyKey, read, o.addViewer},
		{"POST", "/v1/sessions/{id}/publishers", anyOrNode, read, o.addPublisher},
		{"POST", "/v1/sessions/{id}/state", nodeKey, write, o.setSessionState},
		{"POST", "/v1/sessions/{id}/source", nodeKey, write, o.setSessionSource},
		{"POST", "/v1/sessions/{id}/hibernate", anyKey, write, o.hibernateSession},
		{"POST", "/v1/sessions/{id}/wake", anyKey, write, o.wakeSession},
		{"POST", "/v1/sessions/{id}/idle", nodeKey, write, o.sessionIdle},
		{"GET", "/v1/placement/explain", anyKey, read, o.explainPlacement},

		{"GET", "/v1/nodes", nodeKey, read, o.listNodes},
		{"GET", "/v1/nodes/{id}", nodeKey, read, o.getNode},
		{"POST", "/v1/nodes/register", nodeKey, write, o.registerNode},
		{"POST", "/v1/nodes/{id}/drain", adminKey, write, o.drainNode},
		{"POST", "/v1/nodes/{id}/relay-token", nodeKey, read, o.relayToken},

		{"GET", "/v1/cluster", adminKey, local, o.clusterStatus},
		{"POST", "/v1/cluster/join", adminOrOrigin, write, o.joinCluster},
		{"DELETE", "/v1/cluster/peers/{id}", adminKey, write, o.removePeer},
		{"POST", "/v1/cluster/transfer-leadership", adminKey, write, o.transferLeadership},
		{"POST", "/v1/cluster/join-tokens", adminKey, write, o.createJoinToken},
		{"GET", "/v1/cluster/join-tokens", adminKey, read, o.listJoinTokens},
		{"DELETE", "/v1/cluster/join-tokens/{id}", adminKey, write, o.deleteJoinToken},
		{"GET", "/v1/pki/ca", public, local, o.clusterCAView},
		{"POST", "/v1/pki/enroll", public, local, o.enrollNode},
		{"POST", "/v1/pki/renew", nodeOnly, local, o.renewNode},
		{"GET", "/v1/cluster/keys", public, read, o.jwks},
		{"POST", "/v1/cluster/keys/rotate", adminKey, write, o.rotateSigningKey},

		{"GET", "/v1/prometheus/targets", adminOrMetrics, local, o.prometheusTargets},
		{"GET", "/v1/autoscaler", adminKey, read, o.autoscalerStatus},
	}
}

// admits reports whether a caller may call a route with this access.
// Handlers then check what a node may touch (see nodeauth.go).
func (a access) admits(who principal) bool {
	admin := who.scope == registry.ScopeAdmin
	switch a {
	case anyKey:
		return !who.isNode()
	case adminKey, adminOrMetrics:
		return admin
	case nodeKey:
		return admin || who.isNode()
	case nodeOnly:
		return who.isNode()
	case adminOrOrigin:
		return admin || who.node.Role == pki.RoleOrigin
	}
	return true
}

// newRouter builds the HTTP router over the route table.
func (o *Origin) newRouter() *router.Router {
	r := router.New()
	r.SaveMatchedRoutePath = true
	for _, rt := range o.routes() {
		r.Handle(rt.method, rt.path, o.wrap(rt))
	}
	if o.cfg.Metrics.Addr == "" {
		r.GET("/metrics", o.metricsHandler())
	}
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		o.writeError(ctx, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no route for %s %s", ctx.Method(), ctx.Path()))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		o.writeError(ctx, api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s not allowed on %s", ctx.Method(), ctx.Path()))
	}
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		o.log.Error("handler panic", "path", string(ctx.Path()), "panic", v)
		o.writeError(ctx, api.Errorf(http.StatusInternalServerError, api.CodeInternal, "internal error"))
	}
	return r
}

// limitURI answers 414 to a request whose path and query exceed
// api.MaxURIBytes, before routing: no route takes one that long, and a
// not-found message would echo it.
func (o *Origin) limitURI(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if n := len(ctx.Request.Header.RequestURI()); n > api.MaxURIBytes {
			o.writeError(ctx, api.Errorf(http.StatusRequestURITooLong, api.CodeURITooLong, "path and query are %d bytes; the limit is %d", n, api.MaxURIBytes))
			return
		}
		next(ctx)
	}
}

// wrap applies the request pipeline: size limit, authentication, rate
// limit, routing to the leader, the handler, metrics.
func (o *Origin) wrap(rt route) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		defer func() {
			o.metrics.observe(rt.path, rt.method, ctx.Response.StatusCode(), time.Since(start))
		}()
		if len(ctx.Request.Body()) > o.cfg.API.MaxBodyBytes {
			o.writeError(ctx, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "body is %d bytes; the limit is %d", len(ctx.Request.Body()), o.cfg.API.MaxBodyBytes))
			return
		}
		cx, cancel := context.WithCancel(o.ctx)
		defer cancel()
		c := &call{ctx: ctx, cx: cx}
		if rt.access != public && !(rt.access == adminOrMetrics && o.metricsTokenPresented(ctx)) {
			who, err := o.authenticate(ctx)
			if err != nil {
				o.authFailed(ctx, err, start)
				return
			}
			if !rt.access.admits(who) {
				o.writeError(ctx, api.Errorf(http.StatusForbidden, api.CodeForbidden, "%s may not call %s %s", who, rt.method, rt.path))
				return
			}
			if wait, ok := o.limiter.Allow(who.keyID, start); !ok {
				e := api.Errorf(http.StatusTooManyRequests, api.CodeRateLimited, "rate limit of %.0f requests/s exceeded", o.cfg.API.RateLimit)
				e.RetryAfter = int(wait/time.Second) + 1
				o.writeError(ctx, e)
				return
			}
			c.who = who
		}
		switch rt.kind {
		case write:
			if !o.reg.IsLeader() {
				o.forward(ctx, c.who)
				return
			}
		case read:
			mode := registry.ReadMode(ctx.QueryArgs().Peek("consistency"))
			if err := o.reg.ReadBarrier(mode); err != nil {
				if errors.Is(err, registry.ErrNotLeader) {
					o.forward(ctx, c.who)
					return
				}
				o.writeError(ctx, toAPIError(err))
				return
			}
			c.read = mode
		}
		status, body, err := rt.h(c)
		if err != nil {
			if errors.Is(err, registry.ErrNotLeader) && !o.forwarded(ctx) {
				o.forward(ctx, c.who)
				return
			}
			o.writeError(ctx, toAPIError(err))
			return
		}
		o.writeJSON(ctx, status, body)
	}
}

func (o *Origin) forwarded(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek(hdrForwarded)) > 0
}

// forward relays the request to the leader and copies its answer back.
// A node's identity travels in hdrNode, which the leader believes because
// this origin's certificate carries the request; whatever the client put
// there is dropped.
func (o *Origin) forward(ctx *fasthttp.RequestCtx, who principal) {
	if o.forwarded(ctx) {
		o.writeError(ctx, unavailable(api.CodeNoLeader, 1, "forwarded to an origin that is not the leader; retry"))
		return
	}
	addr := o.leaderAPI()
	if addr == "" {
		o.writeError(ctx, unavailable(api.CodeNoLeader, 1, "no leader is known; retry"))
		return
	}
	o.metrics.forwarded.Inc()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	ctx.Request.CopyTo(req)
	req.SetHost(addr)
	req.URI().SetScheme(o.peers.scheme())
	req.Header.Set(hdrForwarded, o.cfg.NodeID)
	req.Header.Del(hdrNode)
	if who.isNode() {
		req.Header.Set(hdrNode, who.node.String())
	}
	timeout := 15 * time.Second
	if w, err := time.ParseDuration(string(ctx.QueryArgs().Peek("wait"))); err == nil {
		timeout += min(w, api.MaxWait)
	}
	if err := o.peers.client(addr).DoTimeout(req, &ctx.Response, timeout); err != nil {
		msg := fmt.Sprintf("leader at %s unreachable: %v", addr, err)
		if isDialError(err) {
			msg = fmt.Sprintf("leader at %s refused the connection; the request was not delivered", addr)
		}
		o.writeError(ctx, unavailable(api.CodeNoLeader, 1, msg))
	}
}

// isDialError reports whether err happened before the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" || errors.Is(err, fasthttp.ErrDialTimeout) || strings.Contains(err.Error(), "error when dialing")
}

// leaderAPI returns the leader's API address from the registry's node
// table, where every origin records itself.
func (o *Origin) leaderAPI() string {
	id, _ := o.reg.Leader()
	if id == "" {
		return ""
	}
	if n, ok := o.reg.State().Node(id); ok {
		return n.Addrs["api"]
	}
	return ""
}

func (o *Origin) writeJSON(ctx *fasthttp.RequestCtx, status int, body any) {
	ctx.Response.Header.Set(api.HeaderIndex, strconv.FormatUint(o.reg.State().Index(), 10))
	if status == http.StatusNoContent || body == nil {
		ctx.SetStatusCode(status)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	enc := json.NewEncoder(ctx)
	if err := enc.Encode(body); err != nil {
		o.log.Error("encode response", "err", err)
	}
}

func (o *Origin) writeError(ctx *fasthttp.RequestCtx, e *api.Error) {
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status >= 500 && e.Code == api.CodeInternal {
		o.log.Error("internal error", "path", string(ctx.Path()), "err", e.Message)
	}
	ctx.Response.ResetBody()
	o.writeJSON(ctx, e.Status, api.ErrorResponse{Error: *e})
}

// decode parses a JSON body strictly: it must be JSON, one value, with no
// fields the target does not know and no key twice in one object.
func decode(c *call, dst any) error {
	ct := string(c.ctx.Request.Header.ContentType())
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		// curl -d sends application/x-www-form-urlencoded unless told.
		return api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedType,
			"content type %q: send the header Content-Type: application/json (curl: -H 'Content-Type: application/json')", truncate(ct, 80))
	}
	body := c.ctx.Request.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidJSON, "request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidJSON, "%s", jsonErr(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidJSON, "unexpected data after the JSON object")
	}
	if key, dup := duplicateKey(body); dup {
		return api.Errorf(http.StatusBadRequest, api.CodeDuplicateKey, "key %q appears twice in one object; send each key once", truncate(key, 80))
	}
	return nil
}

// duplicateKey returns the path (a.b, list[].c) of the first key that
// appears twice in one object of a well-formed JSON document. encoding/json keeps the last of duplicate keys without a word, so
// {"name":"a","name":"b"} would pass as "b", and a proxy or log reading
// the first would see another request than the origin acted on.
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		path string          // of this object or array
		keys map[string]bool // nil for an array
		key  string          // path of the key just read
		// inValue: the object's next token is the value of key.
		inValue bool
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // io.EOF, or an error decode reports
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.keys != nil && !top.inValue {
			key, _ := tok.(string)
			if top.keys[key] {
				return keyPath(top.path, key), true
			}
			top.keys[key] = true
			top.key, top.inValue = keyPath(top.path, key), true
			continue
		}
		// A value, in an array, an object (which then wants a key) or alone.
		path := ""
		if top != nil {
			path = top.path + "[]"
			if top.keys != nil {
				path, top.inValue = top.key, false
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{path: path, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{path: path})
		}
	}
}

// keyPath is the path of a key inside the object at path.
func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return err.Error()
}

// pathID reads a path parameter and checks it against an ID validator.
func pathParam(c *call, name string) string {
	v, _ := c.ctx.UserValue(name).(string)
	return v
}
