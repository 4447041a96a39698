package capacity

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProfileRoundTripAndHostMatch(t *testing.T) {
	h := ThisHost()
	p, err := NewProfile(h, 1e6, map[string]Transport{
		"webrtc": {KneeViewers: 200, EgressMbps: 203.6, CPUCores: 0.3, Broke: true},
		"moq":    {KneeViewers: 400, EgressMbps: 410, CPUCores: 0.5}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p.EgressMbps != 203 {
		t.Fatalf("egress %d, want the lowest knee egress 203", p.EgressMbps)
	}
	path := filepath.Join(t.TempDir(), "capacity.json")
	if err := p.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Transports["moq"].KneeViewers != 400 || got.Matches(h) != nil {
		t.Fatalf("read back %+v", got)
	}
	other := h
	other.Cores++
	other.Fingerprint = other.fingerprint()
	if err := got.Matches(other); !errors.Is(err, ErrHostMismatch) {
		t.Fatalf("other hardware: %v", err)
	}
	kernel := h
	kernel.Kernel = "another"
	if err := got.Matches(kernel); err != nil {
		t.Fatalf("a kernel update invalidated the profile: %v", err)
	}
}

func TestProfileRejects(t *testing.T) {
	if _, err := NewProfile(ThisHost(), 1e6, map[string]Transport{"moq": {}}, time.Now()); !errors.Is(err, ErrProfile) {
		t.Fatalf("a transport without a knee: %v", err)
	}
	if _, err := NewProfile(ThisHost(), 1e6, nil, time.Now()); !errors.Is(err, ErrProfile) {
		t.Fatalf("no transports: %v", err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"garbage": "{", "version": `{"version":9,"egress_mbps":5,"host":{"fingerprint":"x"}}`,
		"empty": `{"version":1}`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadProfile(path); !errors.Is(err, ErrProfile) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReadProfile(filepath.Join(dir, "missing")); !errors.Is(err, ErrProfile) {
		t.Error("missing file accepted")
	}
}
