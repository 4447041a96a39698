package moq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestCloseCodeReachesPeer checks that a server-side termination (as an
// edge refusing a token does right after setup) reaches the client with
// the spec's code and reason on both transports: CONNECTION_CLOSE over raw
// QUIC, CLOSE_WEBTRANSPORT_SESSION over WebTransport.
func TestCloseCodeReachesPeer(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l, cliTLS := newListener(t, Config{})
			type res struct {
				s   *Session
				err error
			}
			dialed := make(chan res, 1)
			go func() {
				s, err := tr.dial(ctx, l.Addr().String(), cliTLS, Config{AuthToken: []byte("bad")})
				dialed <- res{s, err}
			}()
			srv, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = srv.CloseWithError(wire.CodeUnauthorized, "authorization failed")
			// The close may overtake SERVER_SETUP, so it surfaces either
			// from the dial or as the established session's end.
			r := <-dialed
			got := r.err
			if got == nil {
				select {
				case <-r.s.Context().Done():
				case <-ctx.Done():
					t.Fatal("client session did not end")
				}
				_ = r.s.Close() // waits for the session's goroutines
				got = r.s.Err()
			}
			var se *SessionError
			if !errors.As(got, &se) || !se.Remote ||
				se.Code != wire.CodeUnauthorized || se.Reason != "authorization failed" {
				t.Fatalf("client saw %v, want remote UNAUTHORIZED \"authorization failed\"", got)
			}
		})
	}
}
