package registry

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The ingest edge reports its publisher live or gone; a report from
// another node, or a report of what is already recorded, changes nothing;
// a session leaving its edge has no live source.
func TestSetSessionSource(t *testing.T) {
	s := fixture(t)
	at := time.Unix(100, 0).UTC()
	res := Reservation{NodeID: "e1", EgressMbps: 10, GPUs: []GPUSlice{{Index: 0, MemoryMB: 60}}}
	errs := applyAll(t, s,
		&CreateSession{Session: Session{ID: "s1", TenantID: "t1", AppID: "a1", GPUs: 1, EgressMbps: 10}},
		&SetSessionSource{ID: "s1", NodeID: "e1", Source: SourceLive, At: at},
	)
	if errs[0] != nil || !errors.Is(errs[1], ErrConflict) {
		t.Fatalf("report before placement: %v", errs)
	}
	errs = applyAll(t, s,
		&PlaceSession{ID: "s1", Reservation: res},
		&SetSessionState{ID: "s1", State: StateRunning},
		&SetSessionSource{ID: "s1", NodeID: "e2", Source: SourceLive, At: at},
		&SetSessionSource{ID: "s1", NodeID: "e1", Source: SourceUnknown, At: at},
		&SetSessionSource{ID: "nope", NodeID: "e1", Source: SourceLive, At: at},
	)
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrConflict) || !errors.Is(errs[3], ErrInvalid) || !errors.Is(errs[4], ErrNotFound) {
		t.Fatalf("bad reports: %v", errs)
	}
	if ses, _ := s.Session("s1"); ses.Source != SourceUnknown {
		t.Fatalf("a refused report changed the source to %s", ses.Source)
	}
	for _, want := range []SessionSource{SourceLive, SourceGone, SourceLive} {
		at = at.Add(time.Second)
		if errs := applyAll(t, s, &SetSessionSource{ID: "s1", NodeID: "e1", Source: want, At: at}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		if ses, _ := s.Session("s1"); ses.Source != want || !ses.SourceChangedAt.Equal(at) {
			t.Fatalf("source %s at %v, want %s at %v", ses.Source, ses.SourceChangedAt, want, at)
		}
	}
	before, _ := s.Session("s1")
	applyAll(t, s, &SetSessionSource{ID: "s1", NodeID: "e1", Source: SourceLive, At: at.Add(time.Minute)})
	if after, _ := s.Session("s1"); after.ModifyIndex != before.ModifyIndex || !after.SourceChangedAt.Equal(at) {
		t.Fatal("repeating the recorded source changed the session")
	}
	applyAll(t, s, &SetSessionState{ID: "s1", State: StateHibernated, At: at.Add(time.Hour)})
	if ses, _ := s.Session("s1"); ses.Source != SourceGone || !ses.SourceChangedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("hibernated session's source: %s at %v", ses.Source, ses.SourceChangedAt)
	}
}

// Logs and snapshots written before sessions had a source still decode,
// with the source unknown.
func TestSessionSourceOlderFormats(t *testing.T) {
	ses := Session{ID: "s1", TenantID: "t1", AppID: "a1", State: StatePending, Source: SourceLive, SourceChangedAt: time.Unix(5, 0).UTC()}
	// A version-1 CreateSession entry: the session without its source.
	e := encoder{}
	e.byte(byte(cmdCreateSession))
	e.byte(1)
	ses.encode(&e)
	c, err := DecodeCommand(e.b)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*CreateSession).Session; got.ID != "s1" || got.Source != SourceUnknown || !got.SourceChangedAt.IsZero() {
		t.Fatalf("version-1 command decoded as %+v", got)
	}
	// A snapshot whose session record ends before the source.
	old := newTables()
	old.sessions["s1"] = &ses
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, &old, 7); err != nil {
		t.Fatal(err)
	}
	var rec encoder
	(*storedSession)(&ses).encode(&rec)
	var short encoder
	ses.encode(&short)
	raw := bytes.Replace(buf.Bytes(), append(lengthPrefix(len(rec.b)), rec.b...), append(lengthPrefix(len(short.b)), short.b...), 1)
	if bytes.Equal(raw, buf.Bytes()) {
		t.Fatal("session record not found in the snapshot")
	}
	got, _, err := readSnapshot(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.sessions["s1"]; s == nil || s.ID != "s1" || s.Source != SourceUnknown {
		t.Fatalf("older snapshot session: %+v", s)
	}
	// And the current format keeps it.
	got, _, err = readSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.sessions["s1"]; s.Source != SourceLive || !s.SourceChangedAt.Equal(ses.SourceChangedAt) {
		t.Fatalf("snapshot session source: %s at %v", s.Source, s.SourceChangedAt)
	}
}

func lengthPrefix(n int) []byte {
	e := encoder{}
	e.uvarint(uint64(n))
	return e.b
}
