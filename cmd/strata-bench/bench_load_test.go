package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/strata-edge/strata/bench"
)

func TestBenchLoadUsageAndTable(t *testing.T) {
	_, err := benchLoad(context.Background(), []string{"--target", "https://127.0.0.1:1"}, nil)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("missing --key and --app: %v", err)
	}
	var buf bytes.Buffer
	res := bench.LoadResult{Viewers: 3, Playing: 3, Frames: 90, Sessions: []bench.LoadSession{{ID: "ses_1", Ingest: "edge-a", Viewers: 3,
		Playing: 3, Edges: map[string]int{"edge-b": 1, "edge-a": 2}, Frames: 90, P50Ms: 4, P99Ms: 20}}}
	if err := writeLoadTable(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "edge-a:2,edge-b:1") || !strings.Contains(buf.String(), "total") {
		t.Fatalf("table:\n%s", buf.String())
	}
}

// TestBenchAgentNeedsToken: an agent does not start without the token
// controllers must present (kept in the environment, off argv).
func TestBenchAgentNeedsToken(t *testing.T) {
	t.Setenv(agentTokenEnv, "")
	err := benchAgent([]string{"--target", "https://127.0.0.1:1", "--key", "k", "--app", "a", "--listen", "127.0.0.1:0"}, &bytes.Buffer{})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), agentTokenEnv) {
		t.Fatalf("agent without a token: %v", err)
	}
}
