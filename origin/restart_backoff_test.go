package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// TestRestartBackoff: an instance that fails at once is restarted with a
// growing delay, not in a tight loop: with a 500 ms backoff, jittered by
// at most 20%, its fourth start comes no sooner than 0.4 + 0.8 + 1.6 s
// after its first, and while it waits the session shows when it will be
// placed next. (Without the backoff it was placed ten times in 240 ms.)
func TestRestartBackoff(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster with the process runtime")
	}
	const base = 500 * time.Millisecond
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir(), RestartBackoff: base, RestartBackoffMax: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.StartEdge(testcluster.EdgeSpec{ID: "edge-rt", Runtime: edge.RuntimeConfig{StateDir: t.TempDir(), StopGrace: time.Second}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-rt"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "backoff"})
	if err != nil {
		t.Fatal(err)
	}
	starts := filepath.Join(t.TempDir(), "starts")
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "crasher",
		Command:       []string{"/bin/sh", "-c", `date +%s.%N >> "$1"; exit 1`, "sh", starts},
		RestartPolicy: api.RestartOnFailure})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}

	var waiting *api.Session // a view of the session in its backoff
	var times []time.Time
	poll.For(t, 40*time.Second, 10*time.Millisecond, func() error {
		s, err := admin.Sessions().Get(ctx, ses.ID, "")
		if err != nil {
			return err
		}
		if waiting == nil && s.State == api.StatePending && !s.RetryAt.IsZero() {
			waiting = s
		}
		b, _ := os.ReadFile(starts)
		times = times[:0]
		for _, l := range strings.Fields(string(bytes.TrimSpace(b))) {
			var sec, nsec int64
			if _, err := fmt.Sscanf(strings.Replace(l, ".", " ", 1), "%d %d", &sec, &nsec); err != nil {
				return fmt.Errorf("start line %q: %v", l, err)
			}
			times = append(times, time.Unix(sec, nsec))
		}
		if len(times) < 4 {
			return fmt.Errorf("%d starts so far (session %s: %s)", len(times), s.State, s.Reason)
		}
		return nil
	})
	atLeast := []time.Duration{0, 400 * time.Millisecond, 1200 * time.Millisecond, 2800 * time.Millisecond}
	for i := 1; i < 4; i++ {
		if d := times[i].Sub(times[0]); d < atLeast[i] {
			t.Errorf("start %d came %v after the first, want at least %v: %v", i+1, d, atLeast[i], times)
		}
	}
	if waiting == nil {
		t.Fatal("never saw the session pending with a retry_at")
	}
	if !waiting.RetryAt.After(waiting.StateChangedAt) || !strings.Contains(waiting.Reason, "next attempt in") {
		t.Errorf("waiting session: retry_at %v (state changed %v), reason %q; want a later retry_at and the delay in the reason",
			waiting.RetryAt, waiting.StateChangedAt, waiting.Reason)
	}
	t.Logf("starts after the first: %v, %v, %v", times[1].Sub(times[0]), times[2].Sub(times[0]), times[3].Sub(times[0]))
}
