package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers every request with a tenant and counts the
// connections it accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestConnectionsAreReused(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, 1, Tenant{ID: "ten_1"})
	})
	c := New("", srv.URL)
	for range 20 {
		if _, err := c.Tenants().Get(context.Background(), "ten_1", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential calls, want 1", n)
	}
}

// TestIdleCloseIsRetried: a connection the server closed while idle is
// replaced without the caller seeing an error, and the request is sent
// exactly once.
func TestIdleCloseIsRetried(t *testing.T) {
	var posts atomic.Int64
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		writeJSON(w, 201, 1, Session{ID: "ses_1"})
	})
	c := New("", srv.URL)
	ctx := context.Background()
	if _, err := c.Sessions().Create(ctx, SessionSpec{AppID: "app_1"}); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if _, err := c.Sessions().Create(ctx, SessionSpec{AppID: "app_1"}); err != nil {
		t.Fatalf("after the server closed the idle connection: %v", err)
	}
	if p, n := posts.Load(), conns.Load(); p != 2 || n != 2 {
		t.Fatalf("%d requests on %d connections, want 2 on 2", p, n)
	}
}

func TestChunkedAndClosingAnswers(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("consistency") == "lease" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set(HeaderIndex, "9")
		w.WriteHeader(200)
		// Two writes with a flush between: a chunked answer.
		_, _ = w.Write([]byte(`{"id":"ten_1",`))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(`"name":"acme"}`))
	})
	c := New("", srv.URL)
	for _, rc := range []Consistency{"", Lease, ""} {
		ten, err := c.Tenants().Get(context.Background(), "ten_1", rc)
		if err != nil || ten.Name != "acme" {
			t.Fatalf("%q: %+v %v", rc, ten, err)
		}
	}
}

func TestTimeoutFailsOver(t *testing.T) {
	slow, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	fast, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, 1, Tenant{ID: "ten_1"})
	})
	c := New("", slow.URL, fast.URL)
	c.Timeout = 100 * time.Millisecond
	if _, err := c.Tenants().Get(context.Background(), "ten_1", ""); err != nil {
		t.Fatalf("a timed-out origin is skipped: %v", err)
	}
}

func TestStaleIdleConnectionsAreClosed(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, 1, Tenant{ID: "ten_1"})
	})
	p := newConnPool()
	c := New("", srv.URL).WithTransport(p)
	get := func() {
		t.Helper()
		if _, err := c.Tenants().Get(context.Background(), "ten_1", ""); err != nil {
			t.Fatal(err)
		}
	}
	get()
	// Age the idle connection past the timeout, and make the next put
	// sweep; the call itself must not take the stale connection either.
	p.mu.Lock()
	for _, l := range p.idle {
		for _, ic := range l {
			ic.usedAt = ic.usedAt.Add(-2 * p.idleTimeout)
		}
	}
	p.sweptAt = time.Time{}
	p.mu.Unlock()
	get()
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle[srv.Listener.Addr().String()]); n != 1 {
		t.Fatalf("%d idle connections, want 1 (the stale one closed)", n)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the stale one not reused)", n)
	}
}
