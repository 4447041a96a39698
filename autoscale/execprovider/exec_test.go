package execprovider

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/autoscale"
)

func TestScaleRunsCommandWithActionOnStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	p, err := New([]string{"sh", "-c", `cat > "$1"; echo "$STRATA_DECISION_ID $STRATA_ADD $STRATA_REMOVE" >> "$1"`, "sh", out}, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := autoscale.Action{DecisionID: "eu-7", Pool: "eu", Region: "eu", Add: 2, Remove: []string{"e1", "e2"}}
	if err := p.Scale(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var got autoscale.Action
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got.DecisionID != "eu-7" || got.Add != 2 || len(got.Remove) != 2 {
		t.Fatalf("stdin %q: %v", lines[0], err)
	}
	if lines[1] != "eu-7 2 e1 e2" {
		t.Fatalf("environment %q", lines[1])
	}
}

func TestScaleReportsFailureAndTimeout(t *testing.T) {
	p, _ := New([]string{"sh", "-c", "echo no quota >&2; exit 3"}, 0)
	err := p.Scale(context.Background(), autoscale.Action{DecisionID: "d"})
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "no quota") {
		t.Fatalf("err %v", err)
	}
	p, _ = New([]string{"sleep", "30"}, 100*time.Millisecond)
	start := time.Now()
	if err := p.Scale(context.Background(), autoscale.Action{DecisionID: "d"}); !errors.Is(err, ErrCommand) {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("timeout not enforced")
	}
	if _, err := New(nil, 0); err == nil {
		t.Fatal("empty command accepted")
	}
}
