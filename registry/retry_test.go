package registry

import (
	"testing"
	"time"
)

// A restart's RetryAt travels with the session until it is tried (placed,
// or noted waiting for room) or changes state otherwise, and survives a
// snapshot.
func TestSessionRetryAt(t *testing.T) {
	s := fixture(t)
	res := Reservation{NodeID: "e1", EgressMbps: 10, GPUs: []GPUSlice{{Index: 0, MemoryMB: 60}}}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, err := range applyAll(t, s,
		&CreateSession{Session: Session{ID: "s1", TenantID: "t1", AppID: "a1", GPUs: 1, EgressMbps: 10}},
		&PlaceSession{ID: "s1", Reservation: res},
		&SetSessionState{ID: "s1", State: StatePending, Reason: "restarting", RetryAt: at},
	) {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if ses, _ := s.Session("s1"); !ses.RetryAt.Equal(at) {
		t.Fatalf("RetryAt %v, want %v", ses.RetryAt, at)
	}
	var snap storedSession
	ses, _ := s.Session("s1")
	var e encoder
	(*storedSession)(ses).encode(&e)
	d := decoder{b: e.b}
	snap.decode(&d)
	if err := d.finish(); err != nil || !snap.RetryAt.Equal(at) {
		t.Fatalf("snapshot form: RetryAt %v, err %v", snap.RetryAt, err)
	}
	// Tried and found no room: it waits for capacity, no longer for a time.
	if errs := applyAll(t, s, &NotePending{Reason: "waiting for capacity", IDs: []string{"s1"}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if ses, _ := s.Session("s1"); !ses.RetryAt.IsZero() || ses.Reason != "waiting for capacity" {
		t.Fatalf("noted session: RetryAt %v, reason %q", ses.RetryAt, ses.Reason)
	}
	if errs := applyAll(t, s, &PlaceSession{ID: "s1", Reservation: res}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if ses, _ := s.Session("s1"); !ses.RetryAt.IsZero() {
		t.Fatalf("placed session keeps RetryAt %v", ses.RetryAt)
	}
}
