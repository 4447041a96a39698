package msf

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sessionCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := SessionCatalog(SessionConfig{
		GeneratedAt: 1_760_000_000_000,
		Video:       SessionVideo{Width: 1920, Height: 1080, Framerate: 60, Bitrate: 12_000_000},
		Audio:       &SessionAudio{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSessionCatalogRoundTrip(t *testing.T) {
	c := sessionCatalog(t)
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Field names on the wire are the draft's.
	for _, want := range []string{`"version":"draft-01"`, `"generatedAt":1760000000000`, `"packaging":"loc"`,
		`"isLive":true`, `"renderGroup":1`, `"samplerate":48000`, `"channelConfig":"2"`, `"publishTracks"`,
		`"codec":"avc3.64002a"`, `"framerate":60`, `"targetLatency":150`, `"eventType":"com.strata.input.v1"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded catalog lacks %s:\n%s", want, b)
		}
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestSessionCatalogRequiresVideo(t *testing.T) {
	_, err := SessionCatalog(SessionConfig{Video: SessionVideo{Width: 1280, Height: 720, Framerate: 30}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "video.bitrate" || !errors.Is(err, ErrMissingField) {
		t.Fatalf("got %v", err)
	}
}

const videoTrack = `{"name":"v","packaging":"loc","isLive":true,"role":"video","codec":"avc3.42e01f","bitrate":1000000,"width":1280,"height":720}`

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		field string
		want  error
	}{
		{"not json", `{"version":`, "", ErrMalformed},
		{"not object", `[1,2]`, "", ErrMalformed},
		{"no version", `{"tracks":[]}`, "version", ErrMissingField},
		{"unknown version", `{"version":"draft-99","tracks":[]}`, "version", ErrUnsupportedVersion},
		{"version type", `{"version":1,"tracks":[]}`, "version", ErrInvalidField},
		{"no tracks", `{"version":"draft-01"}`, "tracks", ErrMissingField},
		{"isComplete false", `{"version":"draft-01","isComplete":false,"tracks":[]}`, "isComplete", ErrInvalidField},
		{"no name", `{"version":"draft-01","tracks":[{"packaging":"loc","isLive":true}]}`, "tracks[0].name", ErrMissingField},
		{"no packaging", `{"version":"draft-01","tracks":[{"name":"x","isLive":true}]}`, "tracks[0].packaging", ErrMissingField},
		{"bad packaging", `{"version":"draft-01","tracks":[{"name":"x","packaging":"cmaf","isLive":true}]}`, "tracks[0].packaging", ErrInvalidField},
		{"no isLive", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc"}]}`, "tracks[0].isLive", ErrMissingField},
		{"video without codec", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"role":"video","bitrate":1}]}`, "tracks[0].codec", ErrMissingField},
		{"audio without samplerate", `{"version":"draft-01","tracks":[{"name":"a","packaging":"loc","isLive":true,"role":"audio","codec":"opus","bitrate":1,"channelConfig":"2"}]}`, "tracks[0].samplerate", ErrMissingField},
		{"width not a number", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"width":"big"}]}`, "tracks[0].width", ErrInvalidField},
		{"negative height", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"height":-1}]}`, "tracks[0].height", ErrInvalidField},
		{"null field", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":null}]}`, "tracks[0].isLive", ErrInvalidField},
		{"latency and buffers", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"targetLatency":1,"buffers":{}}]}`, "tracks[0].buffers", ErrInvalidField},
		{"duration on live", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"trackDuration":5}]}`, "tracks[0].trackDuration", ErrInvalidField},
		{"eventType missing", `{"version":"draft-01","tracks":[{"name":"e","packaging":"eventtimeline","isLive":true}]}`, "tracks[0].eventType", ErrMissingField},
		{"parentName outside delta", `{"version":"draft-01","tracks":[{"name":"x","parentName":"y","packaging":"loc","isLive":true}]}`, "tracks[0].parentName", ErrInvalidField},
		{"duplicate", `{"version":"draft-01","tracks":[` + videoTrack + `,` + videoTrack + `]}`, "tracks[1].name", ErrDuplicateTrack},
		{"cipher missing", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"encryptionScheme":"moq-secure-objects"}]}`, "tracks[0].cipherSuite", ErrMissingField},
		{"initRef dangling", `{"version":"draft-01","tracks":[{"name":"x","packaging":"loc","isLive":true,"initRef":"i"}]}`, "tracks[0].initRef", ErrInvalidField},
		{"init not base64", `{"version":"draft-01","tracks":[],"initDataList":[{"id":"i","type":"inline","data":"%%"}]}`, "initDataList[0].data", ErrInvalidField},
		{"long name", `{"version":"draft-01","tracks":[{"name":"` + strings.Repeat("n", MaxStringLen+1) + `","packaging":"loc","isLive":true}]}`, "tracks[0].name", ErrTooLarge},
		{"delta with version", `{"version":"draft-01","generatedAt":1,"deltaUpdate":[{"op":"remove","tracks":[{"name":"x"}]}]}`, "version", ErrInvalidField},
		{"delta without generatedAt", `{"deltaUpdate":[{"op":"remove","tracks":[{"name":"x"}]}]}`, "generatedAt", ErrMissingField},
		{"delta empty", `{"generatedAt":1,"deltaUpdate":[]}`, "deltaUpdate", ErrMissingField},
		{"delta bad op", `{"generatedAt":1,"deltaUpdate":[{"op":"rename","tracks":[{"name":"x"}]}]}`, "deltaUpdate[0].op", ErrInvalidField},
		{"remove with extra", `{"generatedAt":1,"deltaUpdate":[{"op":"remove","tracks":[{"name":"x","bitrate":5}]}]}`, "deltaUpdate[0].tracks[0].bitrate", ErrInvalidField},
		{"clone without parent", `{"generatedAt":1,"deltaUpdate":[{"op":"clone","tracks":[{"name":"x"}]}]}`, "deltaUpdate[0].tracks[0].parentName", ErrMissingField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.field == "" {
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v does not name %q", err, tc.field)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxCatalogSize+1)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	tracks := make([]string, MaxTracks+1)
	for i := range tracks {
		tracks[i] = `{}`
	}
	if _, err := Parse([]byte(`{"version":"draft-01","tracks":[` + strings.Join(tracks, ",") + `]}`)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too many tracks: %v", err)
	}
}

func TestParseIgnoresUnknownFields(t *testing.T) {
	c, err := Parse([]byte(`{"version":"draft-01","com.example.x":{"a":1},"tracks":[{"name":"v","packaging":"loc","isLive":true,"com.example.y":[1]}]}`))
	if err != nil || len(c.Tracks) != 1 {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestApplyDelta(t *testing.T) {
	base := sessionCatalog(t)
	delta := `{"generatedAt":1760000000500,"deltaUpdate":[
		{"op":"update","tracks":[{"name":"video","bitrate":4000000,"renderGroup":0}]},
		{"op":"clone","tracks":[{"parentName":"video","name":"video-720","width":1280,"height":720}]},
		{"op":"add","tracks":[{"name":"slides","packaging":"loc","isLive":true,"role":"video","codec":"avc3.42e01f","bitrate":500000}]},
		{"op":"remove","tracks":[{"name":"audio"}]}
	]}`
	d, err := Parse([]byte(delta))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsDelta() {
		t.Fatal("not parsed as delta")
	}
	got, err := base.Apply(d)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(got.Tracks))
	for _, tr := range got.Tracks {
		names = append(names, tr.Name)
	}
	if !reflect.DeepEqual(names, []string{"video", "video-720", "slides"}) {
		t.Fatalf("tracks %v", names)
	}
	v, v720 := got.Tracks[0], got.Tracks[1]
	// An explicit zero in an update overrides: renderGroup 0 is a group.
	if v.Bitrate != 4_000_000 || v.RenderGroup == nil || *v.RenderGroup != 0 || v.Width != 1920 {
		t.Fatalf("updated video %+v", v)
	}
	if v720.Width != 1280 || v720.Bitrate != 4_000_000 || v720.Codec != v.Codec || v720.ParentName != "" {
		t.Fatalf("clone %+v", v720)
	}
	if got.GeneratedAt != 1760000000500 || len(base.Tracks) != 2 || base.Tracks[0].Bitrate != 12_000_000 {
		t.Fatal("base modified or generatedAt not taken")
	}
	if _, err := got.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func TestApplyDeltaErrors(t *testing.T) {
	base := sessionCatalog(t)
	tests := []struct {
		name string
		ops  []DeltaOp
		want error
	}{
		{"remove unknown", []DeltaOp{{Op: OpRemove, Tracks: []Track{{Name: "nope"}}}}, ErrUnknownTrack},
		{"add existing", []DeltaOp{{Op: OpAdd, Tracks: []Track{base.Tracks[0]}}}, ErrDuplicateTrack},
		{"clone unknown parent", []DeltaOp{{Op: OpClone, Tracks: []Track{{ParentName: "nope", Name: "x"}}}}, ErrUnknownTrack},
		{"clone onto existing", []DeltaOp{{Op: OpClone, Tracks: []Track{{ParentName: "video", Name: "audio"}}}}, ErrDuplicateTrack},
		{"update breaks rules", []DeltaOp{{Op: OpUpdate, Tracks: []Track{{Name: "video", Buffers: &Buffers{}}}}}, ErrInvalidField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Catalog{GeneratedAt: 1, DeltaUpdate: tc.ops}
			if _, err := base.Apply(d); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := base.Apply(base); !errors.Is(err, ErrNotDelta) {
		t.Fatalf("independent as delta: %v", err)
	}
}

func TestDeltaMarshal(t *testing.T) {
	d := &Catalog{GeneratedAt: 5, DeltaUpdate: []DeltaOp{{Op: OpRemove, Tracks: []Track{{Name: "audio"}}}}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["generatedAt"] == nil || m["deltaUpdate"] == nil {
		t.Fatalf("delta encoded as %s", b)
	}
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveIgnoresCustomFields(t *testing.T) {
	if _, err := Parse([]byte(`{"generatedAt":1,"deltaUpdate":[{"op":"remove","tracks":[{"name":"x","com.example.note":"hi"}]}]}`)); err != nil {
		t.Fatal(err)
	}
}
