package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func writeJSON(w http.ResponseWriter, status int, index uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestFailoverOnConnectionErrorsOnly(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "Bearer tok" {
			writeJSON(w, 401, 1, ErrorResponse{Error: Error{Code: CodeUnauthorized, Message: "no"}})
			return
		}
		if r.URL.Query().Get("consistency") != "lease" {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		writeJSON(w, 200, 7, Tenant{ID: "ten_1", Name: "acme"})
	}))
	defer srv.Close()

	c := New("tok", closedAddr(t), srv.URL)
	ten, err := c.Tenants().Get(context.Background(), "ten_1", Lease)
	if err != nil || ten.Name != "acme" {
		t.Fatalf("get through the second origin: %v %+v", ten, err)
	}
	// An API error is an answer: no failover, the error comes back typed.
	_, err = c.WithToken("bad").Tenants().Get(context.Background(), "ten_1", Lease)
	if !IsCode(err, CodeUnauthorized) || StatusOf(err) != 401 || Retryable(err) {
		t.Fatalf("bad token: %v", err)
	}
	if calls != 2 {
		t.Errorf("server saw %d calls, want 2", calls)
	}
	// No origin at all.
	_, err = New("tok", closedAddr(t)).Tenants().Get(context.Background(), "ten_1", "")
	if !errors.Is(err, ErrUnreachable) || !Retryable(err) {
		t.Fatalf("no origin: %v", err)
	}
}

func TestListFollowsCursors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("node_id") != "e1" || q.Get("state") != "placed" {
			t.Errorf("filter lost: %q", r.URL.RawQuery)
		}
		switch q.Get("cursor") {
		case "":
			if q.Get("index") != "5" || q.Get("wait") != "2s" {
				t.Errorf("first page: %q", r.URL.RawQuery)
			}
			writeJSON(w, 200, 9, List[Session]{Items: []Session{{ID: "a"}}, NextCursor: "a"})
		case "a":
			if q.Has("index") || q.Has("wait") {
				t.Errorf("later page blocks: %q", r.URL.RawQuery)
			}
			writeJSON(w, 200, 10, List[Session]{Items: []Session{{ID: "b"}}})
		}
	}))
	defer srv.Close()
	ss, idx, err := New("", srv.URL).Sessions().Follow(context.Background(), SessionFilter{NodeID: "e1", State: StatePlaced}, 5, 2*time.Second)
	if err != nil || len(ss) != 2 || ss[1].ID != "b" || idx != 9 {
		t.Fatalf("follow: %v %v %v", ss, idx, err)
	}
}

func TestCancelEndsLongPoll(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := New("", srv.URL).Nodes().Follow(ctx, NodeFilter{}, 1, time.Minute)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled long poll: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll not cancelled")
	}
}

func TestErrorFrom(t *testing.T) {
	if ErrorFrom(200, nil) != nil {
		t.Fatal("200 is not an error")
	}
	err := ErrorFrom(502, []byte("bad gateway\n"))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeHTTP || e.Message != "bad gateway" || Retryable(err) {
		t.Fatalf("plain body: %#v", err)
	}
	err = ErrorFrom(409, []byte(`{"error":{"code":"conflict","message":"m"}}`))
	if !IsCode(err, CodeConflict) || err.Error() != "409 conflict: m" {
		t.Fatalf("envelope: %v", err)
	}
}
