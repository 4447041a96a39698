package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestPrintResultStampsHostAndCommand: every suite's output, JSON or
// indented, carries the hardware fingerprint and the command line.
func TestPrintResultStampsHostAndCommand(t *testing.T) {
	res := struct {
		Subscribers int `json:"subscribers"`
	}{5}
	for _, asJSON := range []bool{true, false} {
		var buf bytes.Buffer
		if err := printResult(&buf, res, asJSON, []string{"strata-bench", "fanout", "--json"}); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(buf.String(), "\n"); asJSON != (lines == 1) {
			t.Fatalf("json=%v: %d lines", asJSON, lines)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"subscribers", "host", "command"} {
			if _, ok := got[k]; !ok {
				t.Fatalf("json=%v: no %q in %s", asJSON, k, buf.String())
			}
		}
	}
}
