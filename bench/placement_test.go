package bench

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPlacementEngine(t *testing.T) {
	res, err := PlacementEngine(context.Background(), 500, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.DecisionsPerSec1k <= 0 || res.DecisionsPerSec10k <= 0 || res.P99Micros10k <= 0 || res.DecisionsPerSec <= 0 || res.Nodes != 500 {
		t.Fatalf("result %+v", res)
	}
	if res.PlacedFraction10k < 0.5 {
		t.Fatalf("only %.2f of decisions placed: the fleet is unrealistically full", res.PlacedFraction10k)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"engine_decisions_per_sec_1k", "engine_decisions_per_sec_10k", "engine_p99_us_10k"} {
		if !strings.Contains(string(b), `"`+k+`"`) {
			t.Fatalf("JSON %s lacks %s", b, k)
		}
	}
	t.Logf("%s", b)
}

func TestPlacementEngineErrors(t *testing.T) {
	if _, err := PlacementEngine(context.Background(), -1, 0); !errors.Is(err, ErrPlacementBenchConfig) {
		t.Fatalf("negative nodes: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PlacementEngine(ctx, 0, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
