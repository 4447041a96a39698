package edge

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
)

// fakeOrigin serves the few routes an edge calls, minimally, and records
// what it was asked. Sessions are served as a blocking query: a request
// with index at or past the current one waits for a change or its wait.
// It speaks HTTPS with a certificate from its own cluster CA and admits
// only edges with certificates from that CA, as origins do.
type fakeOrigin struct {
	t   *testing.T
	ca  *pki.CA
	srv *httptest.Server

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every change
	index       uint64
	sessions    []api.Session
	seeds       []string
	registers   []api.NodeRegistration
	register404 int  // answer this many registrations with 404 first
	fail503     bool // answer the next sessions reply with 503
	served503   int
	badAuth     int
}

func newFakeOrigin(t *testing.T) *fakeOrigin {
	ca, err := pki.NewCA("fake", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOrigin{t: t, ca: ca, changed: make(chan struct{}), index: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/nodes/register", f.register)
	mux.HandleFunc("GET /v1/nodes", f.nodes)
	mux.HandleFunc("GET /v1/sessions", f.listSessions)
	f.srv = httptest.NewUnstartedServer(f.auth(mux))
	h := f.identity(pki.RoleOrigin, "fake-origin")
	f.srv.TLS = h.ServerConfig(nil)
	// httptest installs its own certificate unless one is set.
	f.srv.TLS.Certificates = []tls.Certificate{*h.Certificate()}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// identity issues a node certificate from the fake cluster's CA.
func (f *fakeOrigin) identity(role, id string) *pki.Holder {
	h, err := f.ca.Holder(pki.Identity{Role: role, NodeID: id}, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fakeOrigin) addr() string { return f.srv.Listener.Addr().String() }

func (f *fakeOrigin) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			f.mu.Lock()
			f.badAuth++
			f.mu.Unlock()
			apiError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func apiError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": code}})
}

func (f *fakeOrigin) register(w http.ResponseWriter, r *http.Request) {
	var reg api.NodeRegistration
	if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
		apiError(w, http.StatusBadRequest, "bad_json")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registers = append(f.registers, reg)
	if len(f.registers) <= f.register404 {
		apiError(w, http.StatusNotFound, "not_found")
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{}`))
}

func (f *fakeOrigin) nodes(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("role") != "origin" {
		apiError(w, http.StatusBadRequest, "want_role_origin")
		return
	}
	f.mu.Lock()
	var items []api.NodeView
	for i, s := range f.seeds {
		items = append(items, api.NodeView{Node: api.Node{ID: "origin-" + strconv.Itoa(i), Addrs: map[string]string{"gossip": s, "api": f.addr()}}})
	}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(api.List[api.NodeView]{Items: items})
}

func (f *fakeOrigin) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("node_id") == "" {
		apiError(w, http.StatusForbidden, "forbidden")
		return
	}
	index, _ := strconv.ParseUint(q.Get("index"), 10, 64)
	wait, _ := time.ParseDuration(q.Get("wait"))
	f.mu.Lock()
	if index >= f.index {
		ch := f.changed
		f.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if f.fail503 {
		f.fail503 = false
		f.served503++
		apiError(w, http.StatusServiceUnavailable, "no_leader")
		return
	}
	w.Header().Set("X-Strata-Index", strconv.FormatUint(f.index, 10))
	_ = json.NewEncoder(w).Encode(api.List[api.Session]{Items: f.sessions})
}

// setSessions publishes a new assignment set at the next index; with
// fail503 the reply to the waiting query is a 503 instead.
func (f *fakeOrigin) setSessions(fail503 bool, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	f.sessions = nil
	for _, id := range ids {
		f.sessions = append(f.sessions, api.Session{ID: id, State: api.StatePlaced, Meta: api.Meta{ModifyIndex: f.index}})
	}
	f.fail503 = fail503
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeOrigin) snapshot() (regs []api.NodeRegistration, served503, badAuth int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.NodeRegistration(nil), f.registers...), f.served503, f.badAuth
}

// roundTripper answers an api.Client's requests in process, for fakes
// that script the origins call by call.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeClient is an api.Client whose requests rt answers.
func fakeClient(rt roundTripper) *api.Client {
	return api.New("token", "origin.invalid:1").WithTransport(rt)
}

// answer is an HTTP answer with v as its JSON body (nil: none) and the
// registry index in X-Strata-Index; an *api.Error becomes its error body
// and status.
func answer(index uint64, v any) *http.Response {
	status := http.StatusOK
	if e, ok := v.(*api.Error); ok {
		status, v = e.Status, api.ErrorResponse{Error: *e}
	}
	body := []byte{}
	if v != nil {
		body, _ = json.Marshal(v)
	}
	h := http.Header{"Content-Type": {"application/json"}, api.HeaderIndex: {strconv.FormatUint(index, 10)}}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}
