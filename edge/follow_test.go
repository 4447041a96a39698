package edge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
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
	err   *api.Error
}

func (s *scriptedAPI) roundTrip(r *http.Request) (*http.Response, error) {
	asked, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	s.mu.Lock()
	s.indexes = append(s.indexes, asked)
	if len(s.steps) == 0 {
		s.mu.Unlock()
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	s.mu.Unlock()
	if st.err != nil {
		return answer(0, st.err), nil
	}
	page := api.List[api.Session]{Items: []api.Session{}}
	for _, id := range st.ids {
		page.Items = append(page.Items, api.Session{ID: id})
	}
	return answer(st.index, page), nil
}

// flakyReconciler fails its first call.
type flakyReconciler struct {
	recReconciler
	failed bool
}

func (f *flakyReconciler) Reconcile(ctx context.Context, s []api.Session) error {
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
	script := &scriptedAPI{steps: []step{
		{index: 5, ids: []string{"a"}},      // reconcile fails: retried at the same index
		{index: 5, ids: []string{"a"}},      // delivered
		{index: 5, ids: []string{"a"}},      // wait elapsed, no change: not delivered
		{err: &api.Error{Status: 503}},      // origin unavailable: back off
		{index: 7, ids: []string{"a", "b"}}, // delivered
		{index: 3, ids: []string{"a", "b"}}, // index went backwards (restored origin): re-read from 0
		{index: 4, ids: []string{"b"}},      // delivered
	}}
	rec := &flakyReconciler{}
	e := &Edge{cfg: Config{NodeID: "edge-1", AssignmentWait: time.Second}, api: fakeClient(script.roundTrip), rec: rec,
		log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.follow(ctx) }()
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if len(rec.seen()) < 4 {
			return errors.New("reconciler behind")
		}
		return nil
	})
	cancel()
	<-done
	want := [][]string{{"a"}, {"a"}, {"a", "b"}, {"b"}}
	if got := rec.seen(); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("reconciled %v, want %v", got, want)
	}
	script.mu.Lock()
	defer script.mu.Unlock()
	wantIdx := []uint64{0, 0, 5, 5, 5, 7, 0, 4}
	if !slices.Equal(script.indexes, wantIdx) {
		t.Fatalf("queried with indexes %v, want %v", script.indexes, wantIdx)
	}
}
