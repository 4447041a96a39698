package testcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// Media-plane helpers shared by the tests that publish and view sessions
// through in-process edges.

// MediaEdgeSpec is an edge at (lat, lon) in region with its media plane
// (QUIC, HTTP and WebRTC) on random loopback ports.
func MediaEdgeSpec(id, region string, lat, lon float64) EdgeSpec {
	s := EdgeSpec{ID: id, Region: region, Lat: lat, Lon: lon}
	s.Media.QUICAddr, s.Media.HTTPAddr, s.Media.WebRTCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	return s
}

// StartEdgesAlive starts the edges of specs concurrently and waits up to
// d until the leader sees each of them alive.
func (c *Cluster) StartEdgesAlive(specs []EdgeSpec, d time.Duration) error {
	if _, err := c.StartEdges(len(specs), func(i int) EdgeSpec { return specs[i] }); err != nil {
		return err
	}
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return c.WaitEdges(ids, d)
}

// GameApp creates a tenant and an app of it whose sessions each take one
// fake L4 (2,400 MB) and 10 Mbit/s, with a command that does nothing.
func GameApp(ctx context.Context, cl *api.Client, tenant string) (*api.Tenant, *api.App, error) {
	ten, err := cl.Tenants().Create(ctx, api.TenantCreate{Name: tenant})
	if err != nil {
		return nil, nil, err
	}
	app, err := cl.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "game", Command: []string{"true"},
		GPUs: 1, GPUModel: "L4", GPUMemoryMB: 2400, EgressMbps: 10})
	if err != nil {
		return nil, nil, err
	}
	return ten, app, nil
}

// MoQAddr is the host:port of an edge's moq_url (https://host:port/moq).
func MoQAddr(moqURL string) (string, error) {
	a, ok := strings.CutPrefix(moqURL, "https://")
	a, ok2 := strings.CutSuffix(a, moq.WebTransportPath)
	if !ok || !ok2 {
		return "", fmt.Errorf("moq_url %q is not https://host:port/moq", moqURL)
	}
	return a, nil
}

// DialMoQ opens a raw QUIC MoQ session to an edge's moq_url, trusting the
// edge's self-signed certificate.
func DialMoQ(ctx context.Context, moqURL string) (*moq.Session, error) {
	addr, err := MoQAddr(moqURL)
	if err != nil {
		return nil, err
	}
	s, err := moq.DialQUIC(ctx, addr, &tls.Config{InsecureSkipVerify: true}, nil, moq.Config{}) //nolint:gosec // loopback test edges
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return s, nil
}

// TB is the part of testing.TB the test helpers use (this package is
// also built into the bench, so it does not import testing).
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// MustDialMoQ is DialMoQ for a test: it fails the test on error and
// closes the session when the test ends.
func MustDialMoQ(ctx context.Context, t TB, moqURL string) *moq.Session {
	t.Helper()
	s, err := DialMoQ(ctx, moqURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// SubscribeVideo subscribes to the video track of ns with tok, from the
// latest object on.
func SubscribeVideo(ctx context.Context, s *moq.Session, ns media.Namespace, tok string) (*moq.Subscription, error) {
	tp, err := moq.TokenParam([]byte(tok))
	if err != nil {
		return nil, err
	}
	return s.Subscribe(ctx, wire.Subscribe{Namespace: ns.Tuple(), TrackName: msf.SessionVideoTrack, Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject},
		Params: wire.Parameters{tp}})
}

// PlaceSession creates a session and waits up to d until it holds a
// reservation; it returns the session as it was then.
func PlaceSession(ctx context.Context, cl *api.Client, spec api.SessionSpec, d time.Duration) (*api.Session, error) {
	ses, err := cl.Sessions().Create(ctx, spec)
	if err != nil {
		return nil, err
	}
	err = poll.Until(d, 20*time.Millisecond, func() error {
		cur, err := cl.Sessions().Get(ctx, ses.ID, "")
		if err != nil {
			return err
		}
		ses = cur
		if ses.Reservation == nil {
			return fmt.Errorf("session %s is %s", ses.ID, ses.State)
		}
		return nil
	})
	return ses, err
}
