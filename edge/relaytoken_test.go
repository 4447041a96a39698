package edge

import (
	"context"
	"errors"
	"testing"
	"time"
)

// issuerFunc is a relayTokenIssuer made of a function.
type issuerFunc func(node string) (string, time.Time, error)

func (f issuerFunc) RelayToken(_ context.Context, node string) (string, time.Time, error) {
	return f(node)
}

func TestRelayTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	calls := 0
	var fail error
	src := issuerFunc(func(node string) (string, time.Time, error) {
		calls++
		if node != "edge-1" {
			t.Errorf("token asked for node %q", node)
		}
		if fail != nil {
			return "", time.Time{}, fail
		}
		return "tok-" + string(rune('0'+calls)), now.Add(10 * time.Minute), nil
	})
	r := newRelayTokens(src, "edge-1", time.Second)
	r.now = func() time.Time { return now }

	get := func() string {
		t.Helper()
		tok, err := r.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	if tok := get(); tok != "tok-1" || calls != 1 {
		t.Fatalf("first: %q after %d calls", tok, calls)
	}
	// Reused while more than the margin is left.
	now = now.Add(7 * time.Minute)
	if tok := get(); tok != "tok-1" || calls != 1 {
		t.Fatalf("reuse: %q after %d calls", tok, calls)
	}
	// Replaced once the margin is reached.
	now = now.Add(time.Minute)
	if tok := get(); tok != "tok-2" || calls != 2 {
		t.Fatalf("renewal: %q after %d calls", tok, calls)
	}
	// A failed renewal is an error, and the next call asks again.
	now = now.Add(9 * time.Minute)
	fail = errors.New("no origin reachable")
	if _, err := r.get(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("failed renewal: %v", err)
	}
	fail = nil
	if tok := get(); tok != "tok-4" || calls != 4 {
		t.Fatalf("after a failure: %q after %d calls", tok, calls)
	}
}
