package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/transport/media"
)

// Content types of the protocols.
const (
	ContentTypeSDP     = "application/sdp"
	ContentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// maxBody bounds offers and fragments; real offers are a few kilobytes.
const maxBody = 64 << 10

// Request is an HTTP request as the handler core sees it, independent of
// the HTTP server in front. Path excludes the query string.
type Request struct {
	Method string
	Path   string
	// Query is the parsed query string; only TokenParam is read.
	Query  url.Values
	Header http.Header
	Body   []byte
}

// TokenParam is the query parameter that carries a bearer token when the
// request has no Authorization header.
//
// Why: RFC 9725 (section 4.5) and the WHEP draft make clients follow a
// 307 from an endpoint to another server, and both allow the token to be
// encoded in the endpoint URL instead of the Authorization header. A
// browser following a redirect to another origin drops Authorization
// (Fetch standard, "HTTP-redirect fetch"), and edges are different
// origins, so a redirect to another edge would arrive unauthenticated.
// The redirecting edge therefore puts the caller's token, already
// verified and bound to the target edge by its node claim, in the
// Location's query; the target accepts it there. The token goes nowhere
// it was not already valid, and viewer tokens are short-lived. URLs leak
// into logs and Referer headers, so nothing here logs a URL, every
// answer says Referrer-Policy: no-referrer, and a redirect is no-store.
const TokenParam = "token"

// Token returns the request's bearer token: the Authorization header's
// when it holds one, else TokenParam's. fromQuery says it came from the URL.
func (r *Request) Token() (tok string, fromQuery bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		h = strings.TrimSpace(rest)
	} else if strings.EqualFold(h, "Bearer") {
		h = ""
	}
	if h != "" {
		return h, false
	}
	if t := strings.TrimSpace(r.Query.Get(TokenParam)); t != "" {
		return t, true
	}
	return "", false
}

// Response is what the core answers; adapters copy it out.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// endpoint is a parsed request path.
type endpoint struct {
	kind string // "whip" or "whep"
	ns   media.Namespace
	id   string // resource id; empty for the endpoint itself
}

func (s *Server) parsePath(p string) (endpoint, bool) {
	rest, ok := strings.CutPrefix(p, s.cfg.PathPrefix)
	if !ok {
		return endpoint{}, false
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) < 3 || len(parts) > 4 || (parts[0] != "whip" && parts[0] != "whep") {
		return endpoint{}, false
	}
	e := endpoint{kind: parts[0], ns: media.Namespace{Tenant: parts[1], Session: parts[2]}}
	if len(parts) == 4 {
		e.id = parts[3]
	}
	if e.ns.Validate() != nil {
		return endpoint{}, false
	}
	return e, true
}

func (s *Server) resourcePath(e endpoint, id string) string {
	return s.endpointPath(e) + "/" + id
}

func (s *Server) endpointPath(e endpoint) string {
	return fmt.Sprintf("%s/%s/%s/%s", s.cfg.PathPrefix, e.kind, url.PathEscape(e.ns.Tenant), url.PathEscape(e.ns.Session))
}

// withToken appends tok to u as TokenParam.
func withToken(u, tok string) string {
	return u + "?" + url.Values{TokenParam: {tok}}.Encode()
}

// Serve handles one WHIP or WHEP request.
func (s *Server) Serve(ctx context.Context, req *Request) *Response {
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp := s.serve(ctx, req)
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	s.cors(resp.Header)
	// A token may be in this request's URL: a page the answer leads to
	// must not pass it on.
	resp.Header.Set("Referrer-Policy", "no-referrer")
	return resp
}

func (s *Server) serve(ctx context.Context, req *Request) *Response {
	e, ok := s.parsePath(req.Path)
	if !ok {
		return plain(http.StatusNotFound, "no such endpoint")
	}
	switch {
	case req.Method == http.MethodOptions:
		return s.options(req, e)
	case e.id == "" && req.Method == http.MethodHead && e.kind == "whep":
		// WHEP discovery: HEAD says "POST an SDP offer here".
		return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {ContentTypeSDP}}}
	case e.id == "" && req.Method == http.MethodPost:
		return s.post(ctx, req, e)
	case e.id != "" && req.Method == http.MethodPatch:
		return s.patch(ctx, req, e)
	case e.id != "" && req.Method == http.MethodDelete:
		return s.delete(ctx, req, e)
	}
	r := plain(http.StatusMethodNotAllowed, "method not allowed")
	if e.id == "" {
		r.Header.Set("Allow", "OPTIONS, POST")
	} else {
		r.Header.Set("Allow", "OPTIONS, PATCH, DELETE")
	}
	return r
}

func (s *Server) options(req *Request, e endpoint) *Response {
	h := http.Header{}
	if e.id == "" {
		h.Set("Accept-Post", ContentTypeSDP)
		h.Set("Access-Control-Allow-Methods", "OPTIONS, POST")
		// ICE servers only on a real OPTIONS, not a CORS preflight: TURN
		// credentials may be costly to mint.
		if req.Header.Get("Access-Control-Request-Method") == "" {
			s.links(h)
		}
	} else {
		h.Set("Accept-Patch", ContentTypeSDPFrag)
		h.Set("Access-Control-Allow-Methods", "OPTIONS, PATCH, DELETE")
	}
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, Link")
	h.Set("Access-Control-Max-Age", "86400")
	return &Response{Status: http.StatusOK, Header: h}
}

func (s *Server) cors(h http.Header) {
	h.Set("Access-Control-Allow-Origin", s.cfg.AllowOrigin)
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After")
}

// links adds one Link header per configured STUN/TURN server.
func (s *Server) links(h http.Header) {
	for _, is := range s.cfg.ICEServers {
		v := "<" + is.URL + `>; rel="ice-server"`
		if is.Username != "" {
			v += `; username="` + quote(is.Username) + `"; credential="` + quote(is.Credential) + `"; credential-type="password"`
		}
		h.Add("Link", v)
	}
}

func quote(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

func (s *Server) authorize(ctx context.Context, req *Request, ns media.Namespace, want Role) (Grant, error) {
	token, _ := req.Token()
	if s.cfg.Authorizer == nil {
		// No tokens to order publishers by: a reconnecting one wins.
		return Grant{Role: want, Issued: time.Now()}, nil
	}
	g, err := s.cfg.Authorizer(ctx, token, ns, want)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if got := g.Role; want == RolePublisher && got != RolePublisher || want != RolePublisher && got != RoleViewer && got != RoleController {
		return Grant{}, fmt.Errorf("%w: token grants %s", ErrUnauthorized, got)
	}
	return g, nil
}

func (s *Server) post(ctx context.Context, req *Request, e endpoint) *Response {
	// Routing comes first: a token bound to another edge is not valid
	// here, but its holder belongs there.
	if s.cfg.Router != nil {
		base, err := s.cfg.Router(ctx, e.ns, req)
		if err != nil {
			s.cfg.Logger.Warn("routing a client failed", "kind", e.kind, "ns", e.ns, "err", err)
			r := plain(http.StatusServiceUnavailable, "routing failed")
			r.Header.Set("Retry-After", s.retryAfter())
			return r
		}
		if base != "" {
			return s.redirect(base, e, req)
		}
	}
	g, err := s.authorize(ctx, req, e.ns, map[string]Role{"whip": RolePublisher, "whep": RoleViewer}[e.kind])
	if err != nil {
		return unauthorized(err)
	}
	if !isContentType(req.Header, ContentTypeSDP) {
		return plain(http.StatusUnsupportedMediaType, "content type must be "+ContentTypeSDP)
	}
	var ans answer
	if e.kind == "whip" {
		ans, err = s.publish(ctx, e.ns, g.Issued, string(req.Body))
	} else {
		ans, err = s.view(ctx, e.ns, g.Role, string(req.Body))
	}
	if err != nil {
		return s.errorResponse(err)
	}
	h := http.Header{}
	h.Set("Content-Type", ContentTypeSDP)
	loc := s.resourcePath(e, ans.id)
	if tok, fromQuery := req.Token(); fromQuery {
		// A client authenticated by its URL (a followed redirect, or one
		// configured so) reaches its session the same way.
		loc = withToken(loc, tok)
	}
	h.Set("Location", loc)
	h.Set("ETag", ans.etag)
	h.Set("Accept-Patch", ContentTypeSDPFrag)
	s.links(h)
	return &Response{Status: http.StatusCreated, Header: h, Body: []byte(ans.sdp)}
}

// redirect answers 307 to the same endpoint on the edge at base, with
// the caller's token in the query (see TokenParam): the Router verified
// it and found it bound to that edge, which is the only place it admits.
func (s *Server) redirect(base string, e endpoint, req *Request) *Response {
	loc := base + s.endpointPath(e)
	if tok, _ := req.Token(); tok != "" {
		loc = withToken(loc, tok)
	}
	return &Response{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {loc}, "Cache-Control": {"no-store"}}}
}

func (s *Server) patch(ctx context.Context, req *Request, e endpoint) *Response {
	sess, ok := s.lookup(e)
	if !ok {
		return plain(http.StatusNotFound, "no such session")
	}
	want := RoleViewer
	if e.kind == "whip" {
		want = RolePublisher
	}
	if _, err := s.authorize(ctx, req, e.ns, want); err != nil {
		return unauthorized(err)
	}
	if !isContentType(req.Header, ContentTypeSDPFrag) {
		return plain(http.StatusUnsupportedMediaType, "content type must be "+ContentTypeSDPFrag)
	}
	frag, err := parseFrag(string(req.Body))
	if err != nil {
		return s.errorResponse(err)
	}
	ifMatch := strings.TrimSpace(req.Header.Get("If-Match"))
	if ifMatch == "" {
		return plain(http.StatusPreconditionRequired, "If-Match is required")
	}
	out, etag, err := sess.base().patch(frag, ifMatch)
	if err != nil {
		return s.errorResponse(err)
	}
	if out == "" {
		return &Response{Status: http.StatusNoContent, Header: http.Header{}}
	}
	h := http.Header{}
	h.Set("Content-Type", ContentTypeSDPFrag)
	h.Set("ETag", etag)
	return &Response{Status: http.StatusOK, Header: h, Body: []byte(out)}
}

func (s *Server) delete(ctx context.Context, req *Request, e endpoint) *Response {
	sess, ok := s.lookup(e)
	if !ok {
		return plain(http.StatusNotFound, "no such session")
	}
	want := RoleViewer
	if e.kind == "whip" {
		want = RolePublisher
	}
	if _, err := s.authorize(ctx, req, e.ns, want); err != nil {
		return unauthorized(err)
	}
	sess.close()
	return &Response{Status: http.StatusOK, Header: http.Header{}}
}

// errorResponse maps our sentinels to statuses; messages stay plain and
// short, never internal detail beyond what the client sent.
func (s *Server) errorResponse(err error) *Response {
	switch {
	case errors.Is(err, ErrBadSDP):
		return plain(http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnsupportedCodec):
		return plain(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, errPreconditionFailed):
		return plain(http.StatusPreconditionFailed, "ETag does not match the ICE session")
	case errors.Is(err, ErrFull):
		r := plain(http.StatusServiceUnavailable, "peer limit reached")
		r.Header.Set("Retry-After", s.retryAfter())
		return r
	case errors.Is(err, ErrPublisherLive):
		return jsonError(http.StatusConflict, api.CodePublisherLive, "the session has a live publisher; only a newer publisher token takes it over")
	case errors.Is(err, ErrNotLive):
		r := plain(http.StatusConflict, "session is not live")
		r.Header.Set("Retry-After", s.retryAfter())
		return r
	case errors.Is(err, ErrClosed):
		r := plain(http.StatusServiceUnavailable, "server shutting down")
		r.Header.Set("Retry-After", s.retryAfter())
		return r
	}
	s.cfg.Logger.Warn("webrtc request failed", "err", err)
	return plain(http.StatusInternalServerError, "internal error")
}

func (s *Server) retryAfter() string {
	return strconv.Itoa(max(1, int(s.cfg.RetryAfter.Seconds())))
}

// unauthorized answers a refused token in the API's JSON shape: code
// token_expired when the Authorizer said it expired (the client should
// get a new one), unauthorized otherwise.
func unauthorized(err error) *Response {
	if errors.Is(err, ErrTokenExpired) {
		r := jsonError(http.StatusUnauthorized, api.CodeTokenExpired, "the token expired")
		r.Header.Set("WWW-Authenticate", `Bearer realm="strata", error="invalid_token", error_description="the token expired"`)
		return r
	}
	r := jsonError(http.StatusUnauthorized, api.CodeUnauthorized, "invalid or missing bearer token")
	r.Header.Set("WWW-Authenticate", `Bearer realm="strata"`)
	return r
}

// jsonError is an error answer in the API's JSON shape, for clients that
// must tell one refusal from another by its stable code.
func jsonError(status int, code api.Code, msg string) *Response {
	body, _ := json.Marshal(api.ErrorResponse{Error: api.Error{Code: code, Message: msg}})
	return &Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

func plain(status int, msg string) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(msg + "\n")}
}

func isContentType(h http.Header, want string) bool {
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), want)
}

// ServeHTTP adapts Serve to net/http.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "reading body failed", http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	resp := s.Serve(r.Context(), &Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header, Body: body})
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

var _ http.Handler = (*Server)(nil)
