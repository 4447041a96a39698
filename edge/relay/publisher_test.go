package relay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// A session has one MoQ publisher: a second PUBLISH_NAMESPACE is refused
// with UNAUTHORIZED unless its token is newer, which takes the session
// over and cancels the old publisher's namespace.
func TestOnePublisherPerSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Config{NodeID: "a"}, Deps{})
	t0 := time.Now()
	announce := func(at time.Time) (*moq.Session, *moq.Announcement, error) {
		s := e.dial(ctx, a.addr, false, moq.Config{})
		tp, _ := moq.TokenParam(e.token(token.RolePublisher, func(c *token.Claims) { c.IssuedAt = at }))
		ann, err := s.PublishNamespace(ctx, e.ns().Tuple(), wire.Parameters{tp})
		return s, ann, err
	}

	_, first, err := announce(t0)
	if err != nil {
		t.Fatalf("first publisher: %v", err)
	}
	live, ok := a.Hub().Broadcast(e.ns())
	if !ok {
		t.Fatal("no broadcast after the first publisher")
	}
	for _, at := range []time.Time{t0, t0.Add(-time.Second), t0.Add(-time.Microsecond)} {
		_, _, err := announce(at)
		var re *moq.RequestError
		if !errors.As(err, &re) || re.Code != wire.NamespaceErrUnauthorized || !strings.HasPrefix(re.Reason, "publisher_live") {
			t.Fatalf("publisher issued %v after the live one: %v; want UNAUTHORIZED publisher_live", at.Sub(t0), err)
		}
	}
	if cur, _ := a.Hub().Broadcast(e.ns()); cur != live {
		t.Fatal("a refused publisher replaced the live broadcast")
	}

	// A newer token takes over and the old publisher hears of it.
	newer, _, err := announce(t0.Add(time.Millisecond))
	if err != nil {
		t.Fatalf("newer publisher: %v", err)
	}
	select {
	case <-first.Cancelled():
	case <-ctx.Done():
		t.Fatal("the replaced publisher's namespace was not cancelled")
	}
	<-live.Done()

	// Once the publisher leaves, any valid publisher may come.
	_ = newer.Close()
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, ok := a.Hub().Broadcast(e.ns()); ok {
			return errors.New("broadcast outlives its publisher")
		}
		return nil
	})
	if _, _, err := announce(t0.Add(-time.Minute)); err != nil {
		t.Fatalf("publisher after the live one left: %v", err)
	}
}
