package media

import (
	"context"
	"testing"
	"time"
)

// testCtx bounds every wait in a test so a bug fails instead of hanging.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestTrack(t testing.TB, opts TrackOptions) *Track {
	t.Helper()
	tr, err := NewTrack(TrackInfo{Name: "video", Kind: KindVideo}, opts)
	if err != nil {
		t.Fatalf("NewTrack: %v", err)
	}
	return tr
}

// appendGroup appends one keyframe and n-1 delta frames of size bytes.
func appendGroup(t testing.TB, tr *Track, n, size int) {
	t.Helper()
	for i := range n {
		if err := tr.Append(Object{Keyframe: i == 0, Payload: make([]byte, size)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}
