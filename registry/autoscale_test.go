package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestScaleDecisionRecordedOnceThenSettled(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	at := time.Unix(100, 0).UTC()
	d := ScaleDecision{ID: "eu-1", Pool: "eu", At: at, Current: 1, Desired: 2, Add: 1, Reason: "pending", Memory: []byte(`{}`)}
	if _, err := m.Apply(ctx, &RecordScaleDecision{Decision: d}); err != nil {
		t.Fatal(err)
	}
	// A replayed proposal (a new leader, a retry) makes no second decision.
	if _, err := m.Apply(ctx, &RecordScaleDecision{Decision: d}); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second record: %v", err)
	}
	got, ok := m.State().ScaleDecision("eu-1")
	if !ok || got.Status != ScalePlanned || got.Add != 1 {
		t.Fatalf("decision %+v", got)
	}
	if _, err := m.Apply(ctx, &SetScaleDecisionStatus{ID: "eu-1", Status: ScaleFailed, Error: "exit 1", At: at}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.State().ScaleDecision("eu-1"); got.Status != ScaleFailed || got.Error != "exit 1" {
		t.Fatalf("decision %+v", got)
	}
	for _, c := range []Command{
		&SetScaleDecisionStatus{ID: "nope", Status: ScaleDone},
		&SetScaleDecisionStatus{ID: "eu-1", Status: 9},
		&RecordScaleDecision{Decision: ScaleDecision{Pool: "eu"}},
	} {
		if _, err := m.Apply(ctx, c); err == nil {
			t.Fatalf("%T accepted", c)
		}
	}
}

func TestScaleDecisionsKeptBoundedAndInSnapshots(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	for i := range MaxScaleDecisions + 7 {
		if _, err := m.Apply(ctx, &RecordScaleDecision{Decision: ScaleDecision{ID: fmt.Sprintf("d%04d", i), Pool: "eu"}}); err != nil {
			t.Fatal(err)
		}
	}
	l := m.State().ScaleDecisions()
	if len(l) != MaxScaleDecisions || l[0].ID != "d0007" || l[len(l)-1].ID != fmt.Sprintf("d%04d", MaxScaleDecisions+6) {
		t.Fatalf("kept %d, first %s", len(l), l[0].ID)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, &m.State().data, 1); err != nil {
		t.Fatal(err)
	}
	tb, _, err := readSnapshot(&buf)
	if err != nil || len(tb.scaleDecisions) != MaxScaleDecisions {
		t.Fatalf("restored %d decisions: %v", len(tb.scaleDecisions), err)
	}
}

// TestSnapshotVersion2StillReads checks that a snapshot written before the
// autoscaler's table reads with no decisions.
func TestSnapshotVersion2StillReads(t *testing.T) {
	tb := newTables()
	tb.nodes["e1"] = &Node{ID: "e1", Role: RoleEdge}
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, &tb, 9); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	// Version 3 appends one empty section (a zero count): drop it and
	// write version 2.
	v2 := append([]byte(nil), raw[:len(raw)-1]...)
	v2[len(snapshotMagic)] = 2
	got, idx, err := readSnapshot(bytes.NewReader(v2))
	if err != nil || idx != 9 || got.nodes["e1"] == nil || len(got.scaleDecisions) != 0 {
		t.Fatalf("v2 snapshot: %v %d %+v", err, idx, got)
	}
}
