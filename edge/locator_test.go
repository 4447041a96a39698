package edge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/transport/media"
)

// fakeRegistry answers the media plane's registry reads with its
// function fields and counts them.
type fakeRegistry struct {
	session  func(id string) (api.Session, error)
	node     func(id string) (api.Node, error)
	sessions int
	nodes    int
}

func (f *fakeRegistry) Session(_ context.Context, id string) (api.Session, error) {
	f.sessions++
	return f.session(id)
}

func (f *fakeRegistry) Node(_ context.Context, id string) (api.Node, error) {
	f.nodes++
	return f.node(id)
}

var _ ingestRegistry = (*fakeRegistry)(nil)

// placedOn is a registry holding session s1 of tenant t1 reserved on
// node, which serves MoQ at quic.
func placedOn(node, quic string) *fakeRegistry {
	return &fakeRegistry{
		session: func(id string) (api.Session, error) {
			if id != "s1" {
				return api.Session{}, fmt.Errorf("%w: 404 not_found", errNotInRegistry)
			}
			return api.Session{ID: id, TenantID: "t1", Reservation: &api.Reservation{NodeID: node}}, nil
		},
		node: func(id string) (api.Node, error) {
			if id != node {
				return api.Node{}, errors.New("404 not_found")
			}
			return api.Node{ID: id, Addrs: map[string]string{"quic": quic}}, nil
		},
	}
}

func TestIngestLocator(t *testing.T) {
	ns := media.Namespace{Tenant: "t1", Session: "s1"}
	now := time.Unix(1_800_000_000, 0)
	newLocator := func(reg ingestRegistry) *ingestLocator {
		l := newIngestLocator(reg, "edge-1", 2*time.Second, time.Second)
		l.now = func() time.Time { return now }
		return l
	}

	t.Run("miss then hit", func(t *testing.T) {
		reg := placedOn("edge-2", "10.0.0.2:4443")
		l := newLocator(reg)
		for i := range 3 {
			src, err := l.locate(context.Background(), ns)
			if err != nil || src != (relay.Source{Addr: "10.0.0.2:4443", NodeID: "edge-2"}) {
				t.Fatalf("locate %d = %+v, %v", i, src, err)
			}
		}
		if reg.sessions != 1 || reg.nodes != 1 {
			t.Fatalf("%d session and %d node reads for three lookups, want 1 and 1", reg.sessions, reg.nodes)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		reg := placedOn("edge-2", "10.0.0.2:4443")
		l := newLocator(reg)
		if _, err := l.locate(context.Background(), ns); err != nil {
			t.Fatal(err)
		}
		// The session moves; the cached answer holds until the TTL ends.
		moved := placedOn("edge-3", "10.0.0.3:4443")
		reg.session, reg.node = moved.session, moved.node
		now = now.Add(time.Second)
		if src, _ := l.locate(context.Background(), ns); src.NodeID != "edge-2" {
			t.Fatalf("within the TTL: %+v", src)
		}
		now = now.Add(time.Second)
		if src, err := l.locate(context.Background(), ns); err != nil || src != (relay.Source{Addr: "10.0.0.3:4443", NodeID: "edge-3"}) {
			t.Fatalf("after the TTL: %+v, %v", src, err)
		}
		if reg.sessions != 2 {
			t.Fatalf("%d session reads, want 2", reg.sessions)
		}
	})

	t.Run("origin error is not cached", func(t *testing.T) {
		reg := placedOn("edge-2", "10.0.0.2:4443")
		good := reg.session
		down := errors.New("no origin reachable")
		reg.session = func(string) (api.Session, error) { return api.Session{}, down }
		l := newLocator(reg)
		_, err := l.locate(context.Background(), ns)
		if !errors.Is(err, down) || errors.Is(err, media.ErrNotFound) {
			t.Fatalf("origins down: got %v", err)
		}
		reg.session = good
		if src, err := l.locate(context.Background(), ns); err != nil || src.Addr != "10.0.0.2:4443" {
			t.Fatalf("origins back: %+v, %v", src, err)
		}
	})

	t.Run("node read error", func(t *testing.T) {
		reg := placedOn("edge-2", "10.0.0.2:4443")
		reg.node = func(string) (api.Node, error) { return api.Node{}, errors.New("timeout") }
		if _, err := newLocator(reg).locate(context.Background(), ns); err == nil || errors.Is(err, media.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})

	notFound := []struct {
		name string
		reg  *fakeRegistry
		ns   media.Namespace
	}{
		{"no such session", placedOn("edge-2", "10.0.0.2:4443"), media.Namespace{Tenant: "t1", Session: "s9"}},
		{"other tenant", placedOn("edge-2", "10.0.0.2:4443"), media.Namespace{Tenant: "t2", Session: "s1"}},
		{"reserved here", placedOn("edge-1", "10.0.0.1:4443"), ns},
		{"ingest edge serves no MoQ", placedOn("edge-2", ""), ns},
		{"not placed", &fakeRegistry{session: func(id string) (api.Session, error) {
			return api.Session{ID: id, TenantID: "t1"}, nil
		}}, ns},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocator(tc.reg)
			if _, err := l.locate(context.Background(), tc.ns); !errors.Is(err, media.ErrNotFound) {
				t.Fatalf("got %v, want media.ErrNotFound", err)
			}
			if _, err := l.locate(context.Background(), tc.ns); !errors.Is(err, media.ErrNotFound) {
				t.Fatalf("second lookup: got %v", err)
			}
			if tc.reg.sessions != 2 {
				t.Fatalf("a failed lookup was cached: %d session reads", tc.reg.sessions)
			}
		})
	}
}
