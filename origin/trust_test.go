package origin_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/origin"
)

// dialStream is a Raft stream layer that dials with an optional TLS
// config, to play a stranger talking to an origin's Raft port.
type dialStream struct {
	net.Listener
	tls *tls.Config
}

func (s dialStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.tls == nil {
		return net.DialTimeout("tcp", string(addr), timeout)
	}
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.tls)
}

// requestVote sends one RequestVote as a Raft peer would and returns the
// error, nil when the origin answered.
func requestVote(t *testing.T, target string, cfg *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransport(dialStream{Listener: ln, tls: cfg}, 1, 3*time.Second, io.Discard)
	defer trans.Close()
	var resp raft.RequestVoteResponse
	return trans.RequestVote("origin-1", raft.ServerAddress(target), &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("stranger"), Addr: []byte(ln.Addr().String())}, Term: 1, LastLogIndex: 1,
	}, &resp)
}

// issue makes a node certificate from ca.
func issue(t *testing.T, ca *pki.CA, id pki.Identity) *pki.Holder {
	t.Helper()
	h, err := ca.Holder(id, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRaftRefusesPlaintextAndStrangers: the Raft port answers only origins
// of this cluster over mutual TLS. A plaintext client, an edge of the
// cluster and an origin certificate from another CA get no answer.
func TestRaftRefusesPlaintextAndStrangers(t *testing.T) {
	c := startCluster(t, 1)
	o := c.Nodes[0].Origin()
	target := o.Registry().RaftAddr()
	stranger, err := pki.NewCA("stranger", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foreignOrigin := issue(t, stranger, pki.Identity{Role: pki.RoleOrigin, NodeID: "origin-9"})
	for name, cfg := range map[string]*tls.Config{
		"plaintext":                 nil,
		"origin of another CA":      foreignOrigin.ClientConfig(pki.RolesOf(pki.RoleOrigin)),
		"TLS without a certificate": {InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
	} {
		if err := requestVote(t, target, cfg); err == nil {
			t.Errorf("%s: Raft answered RequestVote", name)
		}
	}
	// Only the origin's own CA could make an edge certificate; an edge
	// must not reach Raft either. The leader holds the CA in its registry.
	ca, ok := o.Registry().State().ClusterCA()
	if !ok {
		t.Fatal("the registry holds no cluster CA")
	}
	clusterCA, err := pki.ParseCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	edgeID := issue(t, clusterCA, pki.Identity{Role: pki.RoleEdge, NodeID: "edge-x"})
	if err := requestVote(t, target, edgeID.ClientConfig(pki.RolesOf(pki.RoleOrigin))); err == nil {
		t.Error("an edge certificate got a Raft answer")
	}
	// And an origin of this cluster does get an answer: the test reaches
	// the port, it is TLS that refuses the others.
	peer := issue(t, clusterCA, pki.Identity{Role: pki.RoleOrigin, NodeID: "origin-2"})
	if err := requestVote(t, target, peer.ClientConfig(pki.RolesOf(pki.RoleOrigin))); err != nil {
		t.Errorf("a cluster origin got no answer: %v", err)
	}
}

// TestWrongCANodeCannotJoin: a node that pins another CA's fingerprint
// refuses the cluster at once, and a node with a certificate from
// another CA cannot reach the API as a node.
func TestWrongCANodeCannotJoin(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	jt, err := c.Client().Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: "o2", Role: api.RoleOrigin})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := pki.NewCA("stranger", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := origin.Defaults()
	cfg.NodeID, cfg.DataDir = "origin-2", t.TempDir()
	cfg.API.Addr, cfg.Raft.Addr, cfg.Gossip.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Gossip.Keys = []string{c.GossipKey}
	cfg.Join = []string{c.Nodes[0].APIAddr()}
	cfg.PKI.JoinToken, cfg.PKI.CAFingerprint = jt.Token, stranger.Fingerprint()
	start := time.Now()
	if o, err := origin.New(cfg, origin.Deps{}); !errors.Is(err, pki.ErrFingerprint) {
		if o != nil {
			_ = o.Close(context.Background())
		}
		t.Fatalf("joining with another CA's fingerprint: %v, want %v", err, pki.ErrFingerprint)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("refusal took %s; a wrong pin cannot get better by retrying", d)
	}
	foreign := issue(t, stranger, pki.Identity{Role: pki.RoleEdge, NodeID: "edge-1"})
	cl := api.New("", c.Nodes[0].APIAddr()).WithTLS(foreign.ClientConfig(pki.RolesOf(pki.RoleOrigin)))
	if _, err := cl.Nodes().List(ctx, api.NodeFilter{}); err == nil {
		t.Fatal("a node with a certificate from another CA listed nodes")
	}
}

// TestNodeIdentityEnforced: edge A, acting with its own certificate,
// cannot touch edge B's record or sessions, through the leader or through
// a follower that forwards, nor pass itself off as B with a header.
func TestNodeIdentityEnforced(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.StartEdge(testcluster.EdgeSpec{ID: "edge-a", GPUs: "none"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartEdge(testcluster.EdgeSpec{ID: "edge-b"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-a", "edge-b"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	tenant := admin.WithToken(key.Token)
	app, err := tenant.Apps().Create(ctx, api.AppSpec{Name: "g", Command: []string{"true"}, GPUs: 1, GPUMemoryMB: 1024, EgressMbps: 5})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := tenant.Sessions().Create(ctx, api.SessionSpec{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		s, err := tenant.Sessions().Get(ctx, ses.ID, "")
		if err != nil {
			return err
		}
		if s.Reservation == nil || s.Reservation.NodeID != "edge-b" {
			return fmt.Errorf("session %s not on edge-b yet", s.State)
		}
		return nil
	})

	// Followers answer reads from their own state: let them catch up, so
	// a 404 below is a refusal, not a follower behind.
	if err := c.WaitApplied(c.Nodes[c.Leader()].Origin().Registry().State().Index(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	as := func(edgeID string, origins ...string) *api.Client {
		h, err := c.EdgeIdentity(edgeID)
		if err != nil {
			t.Fatal(err)
		}
		return api.New("", origins...).WithTLS(h.ClientConfig(pki.RolesOf(pki.RoleOrigin)))
	}
	leader := c.Leader()
	follower := (leader + 1) % len(c.Nodes)
	for _, via := range []int{leader, follower} {
		a := as("edge-a", c.Nodes[via].APIAddr())
		name := fmt.Sprintf("via origin %d (leader %d)", via, leader)
		lat, lon := 1.0, 2.0
		_, err := a.Nodes().Register(ctx, api.NodeRegistration{ID: "edge-b", Region: "local", Lat: &lat, Lon: &lon, NICMbps: 1, Addrs: map[string]string{"quic": "10.9.9.9:1"}})
		wantStatus(t, name+": A registers as B", err, http.StatusForbidden)
		_, err = a.Sessions().ReportState(ctx, ses.ID, api.SessionStateReport{State: api.StateFailed, Reason: "forged"})
		wantStatus(t, name+": A reports on B's session", err, http.StatusForbidden)
		_, err = a.Sessions().ReportState(ctx, ses.ID, api.SessionStateReport{NodeID: "edge-b", State: api.StateFailed, Reason: "forged"})
		wantStatus(t, name+": A reports as B on B's session", err, http.StatusForbidden)
		_, err = a.Sessions().List(ctx, api.SessionFilter{NodeID: "edge-b"})
		wantStatus(t, name+": A lists B's sessions", err, http.StatusForbidden)
		own, err := a.Sessions().List(ctx, api.SessionFilter{})
		if err != nil || len(own) != 0 {
			t.Errorf("%s: A's own sessions: %d, %v; want none", name, len(own), err)
		}
		_, err = a.Apps().Get(ctx, app.ID, "")
		wantStatus(t, name+": A reads the app of B's session", err, http.StatusNotFound)
		_, err = a.Sessions().Publisher(ctx, ses.ID)
		wantStatus(t, name+": A mints a publisher token for B's session", err, http.StatusNotFound)
		_, err = a.Tenants().List(ctx, api.ListOptions{})
		wantStatus(t, name+": A calls a tenant route", err, http.StatusForbidden)

		b := as("edge-b", c.Nodes[via].APIAddr())
		if _, err := b.Apps().Get(ctx, app.ID, ""); err != nil {
			t.Errorf("%s: B reads its session's app: %v", name, err)
		}
		if _, err := b.Sessions().Publisher(ctx, ses.ID); err != nil {
			t.Errorf("%s: B mints its publisher token: %v", name, err)
		}
	}

	// A header claiming to be B is believed only from an origin.
	h, err := c.EdgeIdentity("edge-a")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: h.ClientConfig(pki.RolesOf(pki.RoleOrigin))}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	body := `{"id":"edge-b","region":"local","nic_mbps":1,"addrs":{"quic":"10.9.9.9:1"}}`
	req, _ := http.NewRequest("POST", "https://"+c.Nodes[leader].APIAddr()+"/v1/nodes/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Strata-Node", "edge/edge-b")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(msg, []byte(`"forbidden"`)) {
		t.Errorf("forged X-Strata-Node: %d %s, want 403 forbidden", resp.StatusCode, msg)
	}
	// B's record is untouched.
	n, err := admin.Nodes().Get(ctx, "edge-b", api.Consistent)
	if err != nil {
		t.Fatal(err)
	}
	if n.Addrs["quic"] == "10.9.9.9:1" {
		t.Errorf("edge-b's record was overwritten: %v", n.Addrs)
	}
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	if got := api.StatusOf(err); got != status {
		t.Errorf("%s: %v (status %d), want %d", what, err, got, status)
	}
}

// TestCertificatesRotateUnderLoad: with certificates living a few
// seconds, every origin and the edge renew several times while Raft keeps
// committing writes sent through every origin; none fails, and the edge
// stays registered and following its assignments.
func TestCertificatesRotateUnderLoad(t *testing.T) {
	c, err := testcluster.Start(testcluster.Options{Origins: 3, Dir: t.TempDir(), CertValidity: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if _, err := c.StartEdge(testcluster.EdgeSpec{ID: "edge-1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEdges([]string{"edge-1"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	serial := func() []string {
		var s []string
		for _, n := range c.Nodes {
			s = append(s, n.Origin().Certificate().Certificate().Leaf.SerialNumber.String())
		}
		h, err := c.EdgeIdentity("edge-1")
		if err != nil {
			t.Fatal(err)
		}
		return append(s, h.Certificate().Leaf.SerialNumber.String())
	}
	first := serial()
	var writes, failures atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl := c.Client()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := cl.Tenants().Create(ctx, api.TenantCreate{Name: fmt.Sprintf("t%d", i)}); err != nil {
				failures.Add(1)
				t.Logf("write %d: %v", i, err)
			}
			writes.Add(1)
		}
	}()
	// Two renewals at least: the second one is signed by whichever origin
	// answers, with the certificate the first renewal installed.
	changes := make([]int, len(first))
	prev := first
	poll.For(t, 40*time.Second, 100*time.Millisecond, func() error {
		now := serial()
		for i := range now {
			if now[i] != prev[i] {
				changes[i]++
			}
		}
		prev = now
		for i, n := range changes {
			if n < 2 {
				return fmt.Errorf("node %d renewed %d times", i, n)
			}
		}
		return nil
	})
	close(stop)
	<-done
	if failures.Load() > 0 || writes.Load() == 0 {
		t.Fatalf("%d of %d writes failed while certificates rotated", failures.Load(), writes.Load())
	}
	// The edge still talks to the origins with its renewed certificate.
	poll.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		st, err := testcluster.EdgeStatuses(ctx, c.Client())
		if err != nil {
			return err
		}
		if st["edge-1"].State != api.NodeAlive {
			return fmt.Errorf("edge-1 is %s", st["edge-1"].State)
		}
		return nil
	})
	t.Logf("%d writes, certificates renewed %v times", writes.Load(), changes)
}

// TestAPIServesOperatorCertificateToPublicClients: with api.tls set to
// operator files, a client that trusts those (a browser, a tenant's
// backend) gets them, while cluster clients asking for pki.ServerName
// still get the cluster certificate and work as before.
func TestAPIServesOperatorCertificateToPublicClients(t *testing.T) {
	dir := t.TempDir()
	pub, err := certs.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := pub.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	gossipAddr, err := netutil.FreeLoopbackAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := origin.Defaults()
	cfg.NodeID, cfg.DataDir, cfg.Bootstrap = "o1", filepath.Join(dir, "o1"), true
	cfg.API.Addr, cfg.Raft.Addr, cfg.Gossip.Addr = "127.0.0.1:0", "127.0.0.1:0", gossipAddr[0]
	cfg.AdminToken = strings.Repeat("b", 40)
	cfg.API.TLS = certs.Config{CertFile: certFile, KeyFile: keyFile}
	o, err := origin.New(cfg, origin.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })

	public := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pub.Pool(), ServerName: "localhost"}}}
	defer public.CloseIdleConnections()
	resp, err := public.Get("https://" + o.APIAddr() + "/healthz")
	if err != nil {
		t.Fatalf("a client trusting the operator certificate: %v", err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(pub.Leaf.SerialNumber) != 0 {
		t.Errorf("public client got certificate %v, want the operator's", got)
	}
	cluster := api.New(cfg.AdminToken, o.APIAddr()).WithTLS(pki.TrustConfig(o.CA()))
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		_, err := cluster.Cluster().Status(context.Background())
		return err
	})
}
