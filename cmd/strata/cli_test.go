package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
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
		{"autoscale status", `{"enabled":true,"dry_run":false,"pools":[{"name":"eu/L4","region":"eu","class":"L4","min":1,"max":4,"buffer":0,
			"nodes":3,"draining":["edge-2"],"current":3,"desired":2,"lead_time_seconds":41,"last_reason":"scale in 3→2"}],"decisions":[]}`,
			verbOf("autoscale", "status"), []string{"ENABLED", "NAME", "eu/L4", `["edge-2"]`, "scale in 3→2"}},
		{"autoscale history", `{"items":[{"id":"eu.L4-9","pool":"eu/L4","at":"2026-01-01T00:00:00Z","current":1,"desired":3,"add":2,
			"drain":[],"undrain":[],"remove":[],"reason":"scale up 1→3","inputs":"{}","dry_run":false,"status":"done"}]}`,
			verbOf("autoscale", "history"), []string{"ID", "STATUS", "eu.L4-9", "done", "scale up 1→3"}},
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

// TestAppsCreateContainerFlags: apps create sends the container fields
// and the environment it was given.
func TestAppsCreateContainerFlags(t *testing.T) {
	var got api.AppSpec
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"app_1"}`))
	}))
	defer srv.Close()
	var create verb
	for _, r := range resources() {
		if r.name == "apps" {
			create = r.verbs["create"]
		}
	}
	fs := flag.NewFlagSet("apps create", flag.ContinueOnError)
	mk := create.flags(fs)
	if err := fs.Parse([]string{"--runtime", "docker", "--image", "strata:local", "--args", "testsrc --fps 30",
		"--env", "A=1", "--env", "B=x=y", "--shm-mb", "128", "--volume", "/data", "--pull", "never",
		"--cpu-millis", "500", "--memory-mb", "256", "game"}); err != nil {
		t.Fatal(err)
	}
	o, err := mk(fs.Args())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o(context.Background(), api.New("", srv.URL)); err != nil {
		t.Fatal(err)
	}
	if got.Name != "game" || got.Runtime != api.RuntimeDocker || strings.Join(got.Args, " ") != "testsrc --fps 30" ||
		got.Env["A"] != "1" || got.Env["B"] != "x=y" || got.ShmMB != 128 || got.Volume != "/data" || got.PullPolicy != api.PullNever ||
		got.CPUMillis != 500 || got.MemoryMB != 256 {
		t.Fatalf("sent %+v", got)
	}
}
