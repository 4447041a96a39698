package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// -o value prints the one value a script needs, per item of a list, and
// fails rather than print an empty line.
func TestOutputValue(t *testing.T) {
	for _, tc := range []struct {
		res, verb, raw, want string
	}{
		{"cluster", "join-token", `{"id":"jt_1","token":"strata_join_x","ca_fingerprint":"sha256:ab"}`, "strata_join_x\n"},
		{"cluster", "ca", `{"certificate":"-----BEGIN","fingerprint":"sha256:ab"}`, "sha256:ab\n"},
		{"keys", "create", `{"id":"key_1","token":"key_1.secret"}`, "key_1.secret\n"},
		{"tenants", "create", `{"id":"ten_1","name":"acme"}`, "ten_1\n"},
		{"sessions", "list", `{"items":[{"id":"ses_1"},{"id":"ses_2"}],"next_cursor":""}`, "ses_1\nses_2\n"},
	} {
		var b bytes.Buffer
		if err := printValue(&b, json.RawMessage(tc.raw), valueField(tc.res, tc.verb)); err != nil || b.String() != tc.want {
			t.Errorf("%s %s: printed %q, %v; want %q", tc.res, tc.verb, b.String(), err, tc.want)
		}
	}
	var b bytes.Buffer
	if err := printValue(&b, json.RawMessage(`{"id":"jt_1","token":""}`), "token"); err == nil || b.Len() != 0 {
		t.Errorf("empty token: printed %q, err %v; want an error and nothing printed", b.String(), err)
	}
}

// One session's table says when a restart backing off is tried next.
func TestSessionGetShowsRetryAt(t *testing.T) {
	var b bytes.Buffer
	raw := `{"id":"ses_1","state":"pending","reason":"restarting; next attempt in 2s","retry_at":"2026-01-01T00:00:02Z"}`
	if err := render(&b, "table", json.RawMessage(raw), sessionGetCols, nil); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "RETRY_AT") || !strings.Contains(out, "2026-01-01T00:00:02Z") {
		t.Fatalf("sessions get table lacks retry_at:\n%s", out)
	}
}
