package webrtc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// av1Frame is a temporal unit: temporal delimiter, a sequence header on
// key frames, then one frame OBU of filler.
func av1Frame(key bool, size int) []byte {
	f := []byte{0x12, 0x00}
	if key {
		f = append(f, 0x0a, 0x02, 0xaa, 0xbb)
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = 0x5a
	}
	f = append(f, 0x32)
	for n := uint(size); ; n >>= 7 { // leb128 size
		if n < 0x80 {
			f = append(f, byte(n))
			break
		}
		f = append(f, byte(n&0x7f)|0x80)
	}
	return append(f, body...)
}

// vp8Frame has the frame tag's key bit (0 on key frames) and filler.
func vp8Frame(key bool, size int) []byte {
	f := make([]byte, size)
	for i := range f {
		f[i] = 0x5a
	}
	f[0] = 0x11
	if key {
		f[0] = 0x10
	}
	return f
}

// catalogBroadcast publishes session in the hub as a MoQ publisher would:
// an MSF catalog naming codec for the video track, and video frames from
// frame until the test ends.
func (e *testEnv) catalogBroadcast(t *testing.T, session, codecName string, frame func(key bool, size int) []byte) {
	t.Helper()
	b, err := e.hub.Publish(nsOf(session))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := msf.SessionCatalog(msf.SessionConfig{Video: msf.SessionVideo{Codec: codecName, Width: 64, Height: 64, Framerate: 50, Bitrate: 1e6}, NoInput: true})
	if err != nil {
		t.Fatal(err)
	}
	js, err := cat.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := b.CreateTrack(media.TrackInfo{Name: msf.CatalogTrackName, Kind: media.KindCatalog}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ct.Append(media.Object{Keyframe: true, Payload: js}); err != nil {
		t.Fatal(err)
	}
	vt, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ctx.Err() == nil; n++ {
			_ = vt.Append(media.Object{Keyframe: n%10 == 0, Timestamp: time.Duration(n) * 20 * time.Millisecond,
				CaptureMicros: time.Now().UnixMicro(), Payload: frame(n%10 == 0, 1800)})
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}()
}

// TestWHEPCodecFromCatalog: a MoQ-published broadcast is served over WHEP
// in the codec its MSF catalog names (not assumed H.264), and a codec WHEP
// cannot carry is refused with 422 instead of being mislabelled.
func TestWHEPCodecFromCatalog(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name    string
		catalog string
		frame   func(bool, int) []byte
		want    string // MIME the viewer receives; "" means refused
	}{
		{"vp8", "vp8", vp8Frame, webrtc.MimeTypeVP8},
		{"vp9", "vp09.00.10.08", vp9Frame, webrtc.MimeTypeVP9},
		{"av1", "av01.0.04M.08", av1Frame, webrtc.MimeTypeAV1},
		{"h264", "avc3.64002a", func(key bool, size int) []byte { return testFrame(0, key, size) }, webrtc.MimeTypeH264},
		{"hevc", "hev1.1.6.L93.B0", vp8Frame, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.catalogBroadcast(t, "cat-"+tc.name, tc.catalog, tc.frame)
			v, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if _, err := v.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				st, _, body := e.do(http.MethodPost, e.url("whep", "cat-"+tc.name), ContentTypeSDP, offer(t, v), nil)
				if st != http.StatusUnprocessableEntity || !strings.Contains(body, tc.catalog) {
					t.Fatalf("viewer of %s: %d %q, want 422 naming the codec", tc.catalog, st, body)
				}
				return
			}
			got := make(chan string, 1)
			v.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				if _, _, err := tr.ReadRTP(); err == nil {
					got <- tr.Codec().MimeType
				}
			})
			e.postOffer(v, e.url("whep", "cat-"+tc.name), "")
			select {
			case mime := <-got:
				if !strings.EqualFold(mime, tc.want) {
					t.Fatalf("viewer got %s, want %s", mime, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no %s packet reached the viewer", tc.want)
			}
		})
	}
}

func TestCodecOfCatalog(t *testing.T) {
	tests := []struct {
		in   string
		want string // MIME; "" for nil
		err  bool
	}{
		{"", "", false},
		{"avc1.42e01f", webrtc.MimeTypeH264, false},
		{"AVC3.64002A", webrtc.MimeTypeH264, false},
		{"vp8", webrtc.MimeTypeVP8, false},
		{"vp09.02.10.10", webrtc.MimeTypeVP9, false},
		{"av01.0.08M.10", webrtc.MimeTypeAV1, false},
		{"opus", webrtc.MimeTypeOpus, false},
		{"hvc1.1.6.L93.B0", "", true},
		{"mp4a.40.2", "", true},
	}
	for _, tc := range tests {
		c, err := codecOfCatalog(tc.in)
		if tc.err != (err != nil) || (err != nil && !errors.Is(err, ErrUnsupportedCodec)) {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		switch {
		case tc.want == "" && c != nil:
			t.Errorf("%q: %s, want none", tc.in, c.mime)
		case tc.want != "" && (c == nil || c.mime != tc.want):
			t.Errorf("%q: %v, want %s", tc.in, c, tc.want)
		}
	}
}
