package media

import (
	"bytes"
	"testing"
)

// TestAppendInput: input events are consecutive objects of one group, and
// a new group starts when the open one reaches a bound or was ended.
func TestAppendInput(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		size       int
		endAfter   int // EndGroup after this many events; 0: never
		wantGroups int
	}{
		{"burst in one group", 6, 40, 0, 1},
		{"count bound", InputGroupObjects + 1, 40, 0, 2},
		{"byte bound", 3, InputGroupBytes/2 - 2*objectOverhead, 0, 2},
		{"ended group", 4, 40, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTrack(TrackInfo{Name: "input", Kind: KindInput}, TrackOptions{FirstGroupID: 7})
			if err != nil {
				t.Fatal(err)
			}
			s := tr.Subscribe()
			defer s.Close()
			for i := range tc.n {
				if err := tr.AppendInput(Object{Payload: bytes.Repeat([]byte{byte(i)}, tc.size)}); err != nil {
					t.Fatal(err)
				}
				if i+1 == tc.endAfter {
					tr.EndGroup()
				}
			}
			ctx := testCtx(t)
			groups := map[uint64]bool{}
			var last Object
			for i := range tc.n {
				o, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if o.Payload[0] != byte(i) {
					t.Fatalf("object %d carries event %d", i, o.Payload[0])
				}
				if i > 0 && (o.GroupID < last.GroupID || o.GroupID == last.GroupID && o.ID != last.ID+1) {
					t.Fatalf("event %d at %d/%d after %d/%d", i, o.GroupID, o.ID, last.GroupID, last.ID)
				}
				groups[o.GroupID], last = true, o
			}
			if len(groups) != tc.wantGroups {
				t.Fatalf("%d groups, want %d", len(groups), tc.wantGroups)
			}
		})
	}
}
