package edge

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/registry/client"
)

// scriptedAPI answers session queries from a script, one step per call;
// past the end it blocks until ctx ends, like an idle blocking query.
type scriptedAPI struct {
	mu      sync.Mutex
	steps   []step
	indexes []uint64 // the index each query asked with
}

type step struct {
	index uint64
	ids   []string
	err   error
}

func (s *scriptedAPI) DoIndex(ctx context.Context, _, path string, _, out any) (uint64, error) {
	u, _ := url.Parse(path)
	asked, _ := strconv.ParseUint(u.Query().Get("index"), 10, 64)
	s.mu.Lock()
	s.indexes = append(s.indexes, asked)
	if len(s.steps) == 0 {
		s.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	s.mu.Unlock()
	if st.err != nil {
		return 0, st.err
	}
	page := out.(*client.List[client.Session])
	for _, id := range st.ids {
		page.Items = append(page.Items, client.Session{ID: id})
	}
	return st.index, nil
}

// flakyReconciler fails its first call.
type flakyReconciler struct {
	recReconciler
	failed bool
}

func (f *flakyReconciler) Reconcile(ctx context.Context, s []client.Session) error {
	_ = f.recReconciler.Reconcile(ctx, s)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return errors.New("runtime busy")
	}
	return nil
}

func TestFollowRetriesAndRereadsOnIndexReset(t *testing.T) {
	api := &scriptedAPI{steps: []step{
		{index: 5, ids: []string{"a"}},      // reconcile fails: retried at the same index
		{index: 5, ids: []string{"a"}},      // delivered
		{index: 5, ids: []string{"a"}},      // wait elapsed, no change: not delivered
		{err: &client.Error{Status: 503}},   // origin unavailable: back off
		{index: 7, ids: []string{"a", "b"}}, // delivered
		{index: 3, ids: []string{"a", "b"}}, // index went backwards (restored origin): re-read from 0
		{index: 4, ids: []string{"b"}},      // delivered
	}}
	rec := &flakyReconciler{}
	e := &Edge{cfg: Config{NodeID: "edge-1", AssignmentWait: time.Second}, api: api, rec: rec,
		log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.follow(ctx) }()
	waitFor(t, 10*time.Second, func() string {
		if len(rec.seen()) < 4 {
			return "reconciler behind"
		}
		return ""
	})
	cancel()
	<-done
	want := [][]string{{"a"}, {"a"}, {"a", "b"}, {"b"}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("reconciled %v, want %v", got, want)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	wantIdx := []uint64{0, 0, 5, 5, 5, 7, 0, 4}
	if !slices.Equal(api.indexes, wantIdx) {
		t.Fatalf("queried with indexes %v, want %v", api.indexes, wantIdx)
	}
}
