package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestRelayVersions: two edges relay to each other in the newest version
// both speak, whatever versions the publisher and viewers use, and every
// object reaches viewers of each version with its extension headers.
func TestRelayVersions(t *testing.T) {
	all := []wire.Version(nil)
	only14 := []wire.Version{wire.Draft14}
	cases := []struct {
		name string
		a, b []wire.Version // each edge's MoQ versions
		want wire.Version   // between the edges
		pub  wire.Version   // the publisher's
	}{
		{name: "both-all", a: all, b: all, want: wire.Draft18, pub: wire.Draft14},
		{name: "ingest-edge-14", a: only14, b: all, want: wire.Draft14, pub: wire.Draft14},
		{name: "pull-edge-14", a: all, b: only14, want: wire.Draft14, pub: wire.Draft18},
		{name: "pull-edge-16", a: all, b: []wire.Version{wire.Draft16, wire.Draft14}, want: wire.Draft16, pub: wire.Draft18},
		{name: "ingest-edge-16", a: []wire.Version{wire.Draft16}, b: all, want: wire.Draft16, pub: wire.Draft16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			e := newEnv(t)
			a := e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a", MoQ: moq.Config{Versions: tc.a}}, Deps{})
			b := e.newEdge(Config{NodeID: "b", MoQ: moq.Config{Versions: tc.b}}, Deps{Locator: e.locator(a.source())})
			p := e.publishVersion(ctx, a.addr, tc.pub)
			select {
			case <-p.accepted:
			case <-ctx.Done():
				t.Fatal("edge A never subscribed to the publisher")
			}
			var subs []*moq.Subscription
			for _, v := range b.offered(tc.b) {
				for _, wt := range []bool{false, true} {
					s := e.dial(ctx, b.addr, wt, moq.Config{Versions: []wire.Version{v}})
					if s.Version() != v {
						t.Fatalf("viewer negotiated %v, want %v", s.Version(), v)
					}
					sub, err := e.subscribe(ctx, s, e.token(token.RoleViewer))
					if err != nil {
						t.Fatalf("subscribe over %v: %v", v, err)
					}
					subs = append(subs, sub)
				}
			}
			const objects = 4
			p.appendGroup(t, 0, objects, 64)
			for i, sub := range subs {
				for n := 0; n < objects; {
					o, err := sub.ReadObject(ctx)
					if err != nil {
						t.Fatalf("viewer %d: %v", i, err)
					}
					if o.Status != wire.StatusNormal {
						continue
					}
					if _, ok := o.Extensions.Get(locTimestamp); !ok {
						t.Fatalf("viewer %d: object %d/%d lost its timestamp: %+v", i, o.GroupID, o.ID, o.Extensions)
					}
					n++
				}
			}
			// A counts the publisher's session and B's relay session.
			poll.For(t, 5*time.Second, 5*time.Millisecond, func() error {
				want := 1.0
				if tc.pub == tc.want {
					want = 2
				}
				if got := value(a.m.sessions.WithLabelValues(tc.want.String())); got != want {
					return errors.New("relay session not counted under its version yet")
				}
				return nil
			})
		})
	}
}

// offered lists the versions viewers of an edge configured with vs can
// pick: both supported ones unless it is restricted.
func (a *edge) offered(vs []wire.Version) []wire.Version {
	if len(vs) == 0 {
		return wire.SupportedVersions()
	}
	return vs
}

// publishVersion is publish with the publisher pinned to one version.
func (e *env) publishVersion(ctx context.Context, addr string, v wire.Version) *testPublisher {
	e.t.Helper()
	return e.publishWith(ctx, addr, false, moq.Config{Versions: []wire.Version{v}})
}
