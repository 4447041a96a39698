package media

import (
	"context"
	"testing"
	"time"
)

// TestTrackFrame checks that the hub's Frame hook runs once per appended
// object, on both append paths, and that subscribers see its result.
func TestTrackFrame(t *testing.T) {
	calls := 0
	h := NewHub(HubOptions{Frame: func(o *Object) {
		calls++
		o.Framed = append([]byte("hdr:"), o.Payload...)
		o.Payload = o.Framed[4:]
	}})
	b, err := h.Publish(Namespace{Tenant: "t", Session: "s"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := b.CreateTrack(TrackInfo{Name: "video", Kind: KindVideo}, TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := tr.Subscribe()
	defer sub.Close()
	if err := tr.Append(Object{Keyframe: true, Payload: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if err := tr.StartGroup(5); err != nil {
		t.Fatal(err)
	}
	if err := tr.AppendObject(Object{ID: 3, Payload: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []string{"k", "r"} {
		o, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(o.Payload) != want || string(o.Framed) != "hdr:"+want {
			t.Fatalf("got payload %q framed %q, want %q", o.Payload, o.Framed, want)
		}
	}
	if calls != 2 {
		t.Fatalf("Frame called %d times, want 2", calls)
	}
	// A track's own Frame wins over the hub's.
	own, err := b.CreateTrack(TrackInfo{Name: "audio", Kind: KindAudio}, TrackOptions{Frame: func(*Object) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Append(Object{Keyframe: true, Payload: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("hub Frame used for a track with its own")
	}
}
