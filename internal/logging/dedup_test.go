package logging

import (
	"bytes"
	"strings"
	"testing"
)

// A component naming itself on its caller's logger logs one component.
func TestNewLogsEachKeyOnce(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		log.With("component", "edge", "node", "e1").With("component", "gpu").Info("hello", "node", "e2", "n", 1)
		out := buf.String()
		if c := strings.Count(out, "component"); c != 1 || !strings.Contains(out, "gpu") || strings.Contains(out, "edge") {
			t.Fatalf("%s: want component=gpu once, got %s", format, out)
		}
		if c := strings.Count(out, "node"); c != 1 || !strings.Contains(out, "e2") {
			t.Fatalf("%s: want node=e2 once, got %s", format, out)
		}
		buf.Reset()
		log.With("component", "edge").WithGroup("g").Info("grouped", "component", "inner")
		if out := buf.String(); !strings.Contains(out, "edge") || !strings.Contains(out, "inner") {
			t.Fatalf("%s: a group keeps its own keys: %s", format, out)
		}
	}
}
