package edge

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-edge/strata/api"
)

// An edge that runs no sessions warns once that they will not start, and
// logs its assignments only when they change, whatever the index did.
func TestLogReconcilerLogsChangesOnce(t *testing.T) {
	var out strings.Builder
	r := &LogReconciler{Log: slog.New(slog.NewTextHandler(&out, nil))}
	a := api.Session{ID: "ses_a", State: api.StatePlaced}
	b := api.Session{ID: "ses_b", State: api.StatePlaced}
	for _, set := range [][]api.Session{nil, nil, {a}, {a}, {a}, {b, a}, {a, b}, {a}} {
		if err := r.Reconcile(context.Background(), set); err != nil {
			t.Fatal(err)
		}
	}
	logs := out.String()
	// {a}, {a,b}, {a}: three changes (none assigned at start is no news).
	if n := strings.Count(logs, "assignments changed"); n != 3 {
		t.Errorf("want 3 assignment lines, got %d:\n%s", n, logs)
	}
	if n := strings.Count(logs, "level=WARN"); n != 1 || !strings.Contains(logs, "never start") {
		t.Errorf("want one warning that sessions never start here, got %d:\n%s", n, logs)
	}
}
