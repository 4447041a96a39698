package testsrc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/msf"
)

// TestRun: whichever side ends first stops the other, and Run reports the
// publisher's error, or nil when the context ended both.
func TestRun(t *testing.T) {
	clip, err := testsrc.LoadClip()
	if err != nil {
		t.Fatal(err)
	}
	errServe := errors.New("serve failed")
	for _, tc := range []struct {
		name   string
		cancel bool // end the context instead of returning from serve
		ret    error
	}{
		{"context ends both", true, nil},
		{"publisher error stops the source", false, errServe},
		{"publisher done stops the source", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := testsrc.NewSource(clip, testsrc.SourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			served := make(chan struct{})
			serve := func(ctx context.Context) error {
				// Return only once the source has produced, so both ran.
				for src.VideoFrames() == 0 {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(5 * time.Millisecond):
					}
				}
				close(served)
				if tc.cancel {
					cancel()
					<-ctx.Done()
					return nil
				}
				return tc.ret
			}
			err = testsrc.Run(ctx, src, serve)
			if !errors.Is(err, tc.ret) || (tc.ret == nil && err != nil) {
				t.Fatalf("Run = %v, want %v", err, tc.ret)
			}
			select {
			case <-served:
			default:
				t.Fatal("serve ended before the source produced")
			}
			// Run returned, so the source has ended and closed its tracks.
			if v, _ := src.Track(msf.SessionVideoTrack); !v.Closed() {
				t.Fatal("the source still runs after Run returned")
			}
		})
	}
}
