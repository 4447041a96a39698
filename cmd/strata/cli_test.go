package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/strata-edge/strata/api"
)

// TestUsageListsActionsInOrder: a resource's help lists its actions
// sorted, the same on every run.
func TestUsageListsActionsInOrder(t *testing.T) {
	for _, r := range resources() {
		var b bytes.Buffer
		r.usage(&b)
		var got []string
		for line := range strings.Lines(b.String()) {
			if strings.HasPrefix(line, "  ") {
				got = append(got, strings.Fields(line)[0])
			}
		}
		if len(got) != len(r.verbs) || !slices.IsSorted(got) {
			t.Errorf("%s: actions listed as %v, want all %d sorted", r.name, got, len(r.verbs))
		}
	}
}

// TestTableMode: cluster status (with its peers) and a viewer grant print
// tables in table mode and JSON with -o json.
func TestTableMode(t *testing.T) {
	verbOf := func(res, name string) verb {
		for _, r := range resources() {
			if r.name == res {
				return r.verbs[name]
			}
		}
		t.Fatalf("no %s %s", res, name)
		return verb{}
	}
	status := `{"node_id":"origin-1","state":"Leader","leader_id":"origin-1","leader_address":"127.0.0.1:7000","term":3,
		"commit_index":1234567,"applied_index":1234567,"last_index":1234567,
		"peers":[{"id":"origin-1","address":"127.0.0.1:7000","suffrage":"Voter","leader":true},
		         {"id":"origin-2","address":"127.0.0.1:7001","suffrage":"Voter","leader":false}]}`
	viewer := `{"edge":"edge-1","relaying":false,"token":"tok","expires_at":"2026-01-01T00:00:00Z","role":"viewer",
		"moq_url":"https://e:4433/moq","whep_url":"https://e:8443/whep/s","player_url":"https://e:8443/embed/s"}`
	for _, tc := range []struct {
		name, raw string
		v         verb
		want      []string
	}{
		{"cluster status", status, verbOf("cluster", "status"), []string{
			"NODE_ID", "LEADER_ADDRESS", "origin-1  Leader", "1234567",
			"ID        ADDRESS         SUFFRAGE  LEADER", "origin-2  127.0.0.1:7001  Voter     false"}},
		{"sessions viewer", viewer, verbOf("sessions", "viewer"), []string{
			"EDGE", "PLAYER_URL", "edge-1", "https://e:8443/embed/s", "tok"}},
		// A session whose publisher left says so beside its state.
		{"sessions get", `{"id":"ses_1","app_id":"app_1","state":"running","source":"gone","reservation":{"node_id":"edge-1"}}`,
			verbOf("sessions", "get"), []string{"STATE    SOURCE", "running  gone    edge-1"}},
	} {
		var b bytes.Buffer
		if err := render(&b, "table", json.RawMessage(tc.raw), tc.v.columns, tc.v.nested); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out := b.String()
		if strings.Contains(out, "{") {
			t.Errorf("%s: table mode printed JSON:\n%s", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: table lacks %q:\n%s", tc.name, w, out)
			}
		}
		b.Reset()
		if err := render(&b, "json", json.RawMessage(tc.raw), tc.v.columns, tc.v.nested); err != nil || !json.Valid(b.Bytes()) {
			t.Errorf("%s: -o json printed %q, %v", tc.name, b.String(), err)
		}
	}
}

// TestExitCodeOfRequestErrors: an answer refusing the request as sent
// (a URI or headers too long among them) is a usage error.
func TestExitCodeOfRequestErrors(t *testing.T) {
	for _, st := range []int{400, 401, 413, 414, 415, 431} {
		if got := exitCode(api.Errorf(st, api.CodeBadRequest, "x")); got != exitUsage {
			t.Errorf("status %d: exit %d, want %d", st, got, exitUsage)
		}
	}
}
