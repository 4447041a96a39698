package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testcluster/moqtest"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// ErrLoadConfig reports unusable LoadOptions.
var ErrLoadConfig = errors.New("bench: invalid load config")

// LoadOptions configures a load test against a running cluster.
type LoadOptions struct {
	Client            *api.Client // the cluster's API, with the tenant's key
	TLS               *tls.Config // for the edges' media endpoints
	TenantID          string      // optional with a tenant key
	AppID             string      // whose sessions to create
	Region            string      // optional placement region
	Sessions          int
	ViewersPerSession int
	Transport         string // TransportMoQ or TransportWebRTC
	Duration          time.Duration
	// Publish has the load generator publish a synthetic stream into each
	// session (over MoQ, with the session's publisher grant), for apps
	// whose instance publishes nothing; the frames carry capture times.
	Publish    bool
	BitrateBps int64 // of the published stream
	FPS        int
	// Keep leaves the sessions running; by default they are terminated.
	Keep     bool
	Progress *Progress
}

// LoadSession is one session's row of a load test.
type LoadSession struct {
	ID      string         `json:"id"`
	Ingest  string         `json:"ingest_edge"`
	Viewers int            `json:"viewers"`
	Playing int            `json:"playing"` // viewers that got at least one frame
	Edges   map[string]int `json:"edges"`   // viewers per edge they were routed to
	Frames  uint64         `json:"frames"`
	P50Ms   float64        `json:"p50_ms"`
	P99Ms   float64        `json:"p99_ms"`
	Errors  int            `json:"errors"`
	Rejoins int            `json:"rejoins"` // streams that ended mid-run and were joined again
	// FirstError is the first viewer or publisher error, for the table.
	FirstError string `json:"first_error,omitempty"`
}

// LoadResult is `strata bench load`'s result.
type LoadResult struct {
	Transport       string        `json:"transport"`
	Sessions        []LoadSession `json:"sessions"`
	Viewers         int           `json:"viewers"`
	Playing         int           `json:"playing"`
	Frames          uint64        `json:"frames"`
	P50Ms           float64       `json:"p50_ms"`
	P99Ms           float64       `json:"p99_ms"`
	Errors          int           `json:"errors"`
	Rejoins         int           `json:"rejoins"`
	Agents          int           `json:"agents,omitempty"` // load generators that shared the run
	DurationSeconds float64       `json:"duration_seconds"`
}

// Load creates o.Sessions sessions of o.AppID, routes o.ViewersPerSession
// viewers to each through the API (POST /v1/sessions/{id}/viewers), has
// them play over o.Transport for o.Duration, and reports per session.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Client == nil || o.AppID == "" || o.Sessions <= 0 || o.ViewersPerSession <= 0 || o.Duration <= 0 {
		return LoadResult{}, fmt.Errorf("%w: client, app, sessions, viewers per session and duration are required", ErrLoadConfig)
	}
	if o.Transport != TransportMoQ && o.Transport != TransportWebRTC {
		return LoadResult{}, fmt.Errorf("%w: transport %q: want moq or webrtc", ErrLoadConfig, o.Transport)
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.BitrateBps <= 0 {
		o.BitrateBps = 1_000_000
	}
	if o.TLS == nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		runs  []*loadRun
		first error
	)
	defer wg.Wait()
	defer cancel()
	for i := range o.Sessions {
		o.Progress.Bar(i, o.Sessions, "creating sessions")
		r, err := startLoadSession(ctx, &o, &wg)
		if err != nil {
			first = err
			break
		}
		runs = append(runs, r)
	}
	if !o.Keep {
		defer func() {
			for _, r := range runs {
				tctx, tcancel := context.WithTimeout(context.Background(), 10*time.Second)
				if _, err := o.Client.Sessions().Terminate(tctx, r.row.ID, "bench load done"); err != nil {
					o.Progress.Step("terminate %s: %v", r.row.ID, err)
				}
				tcancel()
			}
		}()
	}
	if first != nil {
		return LoadResult{}, first
	}
	o.Progress.Bar(o.Sessions, o.Sessions, "sessions created")
	o.Progress.Step("%d sessions, %d viewers each over %s, for %s", o.Sessions, o.ViewersPerSession, o.Transport, o.Duration)
	// The viewers stop (and hand in what they measured) before the
	// sessions' publishers do.
	start := time.Now()
	vctx, vcancel := context.WithCancel(ctx)
	var vwg sync.WaitGroup
	for _, r := range runs {
		r.viewers(vctx, &o, &vwg)
	}
	select {
	case <-time.After(o.Duration):
	case <-ctx.Done():
	}
	vcancel()
	vwg.Wait()
	if ctx.Err() != nil {
		return LoadResult{}, ctx.Err()
	}
	res := LoadResult{Transport: o.Transport, DurationSeconds: time.Since(start).Seconds()}
	var all []float64
	for _, r := range runs {
		row, lat := r.snapshot()
		res.Sessions = append(res.Sessions, row)
		res.Viewers += row.Viewers
		res.Playing += row.Playing
		res.Frames += row.Frames
		res.Errors += row.Errors
		res.Rejoins += row.Rejoins
		all = append(all, lat...)
	}
	slices.Sort(all)
	res.P50Ms, res.P99Ms = percentile(all, 0.50), percentile(all, 0.99)
	return res, nil
}

// loadRun is one session under load: its row and its viewers' samples.
type loadRun struct {
	tenant string
	mu     sync.Mutex
	row    LoadSession
	lat    []float64
	frames map[int]uint64 // per viewer
}

func (r *loadRun) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.row.Errors++
	if r.row.FirstError == "" {
		r.row.FirstError = strings.Join(strings.Fields(err.Error()), " ")
	}
}

func (r *loadRun) frame(viewer int, latMs float64, stamped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames[viewer]++
	if stamped {
		r.lat = append(r.lat, latMs)
	}
}

func (r *loadRun) snapshot() (LoadSession, []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	row := r.row
	row.Edges = copyCounts(r.row.Edges)
	for _, n := range r.frames {
		row.Frames += n
		row.Playing++
	}
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	row.P50Ms, row.P99Ms = percentile(lat, 0.50), percentile(lat, 0.99)
	return row, lat
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// startLoadSession creates a session, waits for its placement and, with
// o.Publish, starts publishing into it.
func startLoadSession(ctx context.Context, o *LoadOptions, wg *sync.WaitGroup) (*loadRun, error) {
	ses, err := o.Client.Sessions().Create(ctx, api.SessionSpec{TenantID: o.TenantID, AppID: o.AppID, Region: o.Region})
	if err != nil {
		return nil, fmt.Errorf("bench: create session: %w", err)
	}
	for ses.Reservation == nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if ses, err = o.Client.Sessions().Get(ctx, ses.ID, api.Stale); err != nil {
			return nil, fmt.Errorf("bench: session %s: %w", ses.ID, err)
		}
		if ses.State.Terminal() {
			return nil, fmt.Errorf("bench: session %s is %s", ses.ID, ses.State)
		}
	}
	r := &loadRun{tenant: ses.TenantID, row: LoadSession{ID: ses.ID, Ingest: ses.Reservation.NodeID, Viewers: o.ViewersPerSession, Edges: map[string]int{}},
		frames: map[int]uint64{}}
	if o.Publish {
		if err := publishLoad(ctx, o, ses, wg); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// publishLoad publishes a synthetic video track into ses over MoQ until
// ctx ends.
func publishLoad(ctx context.Context, o *LoadOptions, ses *api.Session, wg *sync.WaitGroup) error {
	ans, err := o.Client.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		return fmt.Errorf("bench: publisher grant: %w", err)
	}
	s, err := dialMoQURL(ctx, ans.MoQURL, o.TLS)
	if err != nil {
		return err
	}
	tr, err := media.NewTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 8})
	if err != nil {
		_ = s.Close()
		return err
	}
	tp, err := moq.TokenParam([]byte(ans.Token))
	if err != nil {
		_ = s.Close()
		return err
	}
	ns := media.Namespace{Tenant: ses.TenantID, Session: ses.ID}
	if _, err := s.PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp}); err != nil {
		_ = s.Close()
		return fmt.Errorf("bench: publish namespace: %w", err)
	}
	wg.Go(func() { moqtest.ServeTrack(s, tr, wg, moqtest.ServeOptions{Extensions: true}) })
	wg.Go(func() {
		defer s.Close()
		defer tr.Close()
		filler := make([]byte, max(int(o.BitrateBps/8/int64(o.FPS)), 64))
		tick := time.NewTicker(time.Second / time.Duration(o.FPS))
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now().UnixMicro()
			ext, _ := wire.AppendExtensions(nil, wire.Extensions{wire.IntPair(msf.PropTimestamp, uint64(now))})
			key := n%o.FPS == 0
			if tr.Append(media.Object{Keyframe: key, CaptureMicros: now, Extensions: ext, Payload: benchFrame(n, now, key, filler)}) != nil {
				return
			}
		}
	})
	return nil
}

// viewers starts the session's viewers, each routed through the API.
func (r *loadRun) viewers(ctx context.Context, o *LoadOptions, wg *sync.WaitGroup) {
	for i := range o.ViewersPerSession {
		wg.Go(func() {
			if err := r.play(ctx, o, i); err != nil {
				r.fail(err)
			}
		})
	}
}

// play routes one viewer and plays until ctx ends.
func (r *loadRun) play(ctx context.Context, o *LoadOptions, i int) error {
	ans, err := o.Client.Sessions().Viewer(ctx, r.row.ID, api.ViewerRequest{Region: o.Region})
	if err != nil {
		return fmt.Errorf("route viewer: %w", err)
	}
	r.mu.Lock()
	r.row.Edges[ans.Edge]++
	r.mu.Unlock()
	// A stream that ends mid-run (the instance restarted, the edge
	// dropped the viewer) is joined again, as a player does; the rejoin
	// is counted, and only a viewer that cannot join again is an error.
	for {
		if o.Transport == TransportWebRTC {
			err = r.playWHEP(ctx, o, i, ans)
		} else {
			err = r.playMoQ(ctx, o, i, ans)
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.mu.Lock()
		r.row.Rejoins++
		r.mu.Unlock()
		if err := retryJoin(ctx, err); err != nil {
			return nil // the run ended while the viewer waited to rejoin
		}
	}
}

func (r *loadRun) playMoQ(ctx context.Context, o *LoadOptions, i int, ans *api.ViewerAnswer) error {
	// The edge may not relay the session yet (or its publisher is still
	// starting): retry the subscription for a while, as a player does.
	tp, err := moq.TokenParam([]byte(ans.Token))
	if err != nil {
		return err
	}
	var sub *moq.Subscription
	for {
		s, err := dialMoQURL(ctx, ans.MoQURL, o.TLS)
		if err != nil {
			if err := retryJoin(ctx, err); err != nil {
				return err
			}
			continue
		}
		sub, err = s.Subscribe(ctx, wire.Subscribe{Namespace: media.Namespace{Tenant: r.tenant, Session: r.row.ID}.Tuple(),
			TrackName: msf.SessionVideoTrack, Forward: true, GroupOrder: wire.GroupOrderAscending,
			Filter: wire.Filter{Type: wire.FilterLargestObject}, Params: wire.Parameters{tp}})
		if err == nil {
			defer s.Close()
			break
		}
		_ = s.Close()
		if err := retryJoin(ctx, err); err != nil {
			return err
		}
	}
	for {
		obj, err := sub.ReadObject(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if obj.Status != wire.StatusNormal {
			continue
		}
		kv, ok := obj.Extensions.Get(msf.PropTimestamp)
		r.frame(i, float64(time.Now().UnixMicro()-int64(kv.Value))/1000, ok)
	}
}

func (r *loadRun) playWHEP(ctx context.Context, o *LoadOptions, i int, ans *api.ViewerAnswer) error {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: o.TLS}}
	defer hc.CloseIdleConnections()
	var v *fanoutViewer
	for {
		var err error
		v, err = newFanoutViewer(ctx, benchViewerAPI(false), hc, ans.WHEPURL+"?token="+ans.Token, freezeGap(o.FPS))
		if err == nil {
			break
		}
		if err := retryJoin(ctx, err); err != nil {
			return err
		}
	}
	defer v.close()
	<-ctx.Done()
	_, _, lat := v.snapshot()
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := v.frames.Load(); n > 0 {
		r.frames[i] = n
	}
	r.lat = append(r.lat, lat...)
	return nil
}

// retryJoin waits before a viewer tries to join again, as a player does
// while a session's publisher is still starting or its edge is busy; when
// the run ends first it returns the last join error, which counts
// against the session.
func retryJoin(ctx context.Context, err error) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("never joined: %w", err)
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// dialMoQURL opens a raw QUIC MoQ session to an edge's moq_url.
func dialMoQURL(ctx context.Context, moqURL string, tc *tls.Config) (*moq.Session, error) {
	addr, err := testcluster.MoQAddr(moqURL)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := moq.DialQUIC(ctx, addr, tc, nil, moq.Config{Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	return s, nil
}
