package relay

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/transport/moq"
)

// peerSNISuffix marks a relay connection: an edge dialing another asks
// for the server name <node id>.nodes.strata.invalid. ".invalid" is a
// reserved top-level domain, so no viewer's name can collide with it, and
// the server answers that name with the cluster's mutual TLS instead of
// its public certificate. Viewers and relays share one UDP port this way.
const peerSNISuffix = ".nodes.strata.invalid"

// PeerServerName is the TLS server name a relay asks for when it dials
// the edge nodeID.
func PeerServerName(nodeID string) string { return nodeID + peerSNISuffix }

// peerNode returns the node a relay server name asks for.
func peerNode(serverName string) (string, bool) {
	n := len(serverName) - len(peerSNISuffix)
	if n <= 0 || !strings.EqualFold(serverName[n:], peerSNISuffix) {
		return "", false
	}
	return serverName[:n], true
}

// serverTLS is public with relay connections split off: a ClientHello
// for a relay server name gets the cluster configuration (this edge's
// cluster certificate, and a client certificate the cluster CA signed
// for an edge is required); any other name gets public, untouched. A
// relay name for another node is refused: it reached the wrong edge.
// Without an identity, relay names are refused outright.
func (r *Relay) serverTLS(public *tls.Config) *tls.Config {
	id := r.opts.Identity
	var cluster *tls.Config
	if id != nil {
		cluster = id.ServerConfig(pki.RolesOf(pki.RoleEdge))
		// Relays speak raw QUIC only, in the newest version both edges
		// have (the dialing edge offers all of its own).
		cluster.NextProtos = r.opts.MoQ.ALPNs()
		// A relay keeps one long connection per edge; resuming one is not
		// worth a ticket that outlives a revoked or renewed certificate.
		cluster.SessionTicketsDisabled = true
	}
	out := public.Clone()
	next := public.GetConfigForClient
	out.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		node, ok := peerNode(hello.ServerName)
		if !ok {
			if next != nil {
				return next(hello)
			}
			return nil, nil
		}
		if cluster == nil {
			return nil, fmt.Errorf("%w: this edge takes no relay connections", ErrNoIdentity)
		}
		if own := id.Identity().NodeID; !strings.EqualFold(node, own) {
			return nil, fmt.Errorf("%w: relay connection for %q reached %q", ErrWrongPeer, node, own)
		}
		return cluster, nil
	}
	return out
}

// dialTLS is the client configuration for dialing src: it presents this
// edge's cluster certificate and accepts the server only if the cluster
// CA signed it for an edge with src's node ID. The handshake fails
// otherwise, before a relay token is sent.
func (r *Relay) dialTLS(src Source) (*tls.Config, error) {
	id := r.opts.Identity
	if id == nil {
		return nil, ErrNoIdentity
	}
	if src.NodeID == "" {
		return nil, fmt.Errorf("%w: the locator named no node for %s", ErrWrongPeer, src.Addr)
	}
	tc := id.ClientConfig(func(peer pki.Identity) error {
		if err := pki.RolesOf(pki.RoleEdge)(peer); err != nil {
			return err
		}
		if peer.NodeID != src.NodeID {
			return fmt.Errorf("%w: %s answered at %s, want edge %s", ErrWrongPeer, peer, src.Addr, src.NodeID)
		}
		return nil
	})
	tc.ServerName = PeerServerName(src.NodeID)
	return tc, nil
}

// verifyPeer returns the cluster edge at the other end of s, if s came in
// as a relay connection. The handshake already checked the certificate
// (serverTLS); checking it again here keeps a session that somehow got
// past without one from counting as a peer.
func (r *Relay) verifyPeer(s *moq.Session) (pki.Identity, bool) {
	id := r.opts.Identity
	if id == nil {
		return pki.Identity{}, false
	}
	cs, ok := s.TLS()
	if !ok {
		return pki.Identity{}, false
	}
	if _, relay := peerNode(cs.ServerName); !relay {
		return pki.Identity{}, false
	}
	peer, err := id.Verify(cs.PeerCertificates, x509.ExtKeyUsageClientAuth)
	if err == nil {
		err = pki.RolesOf(pki.RoleEdge)(peer)
	}
	if err != nil {
		r.log.Warn("relay connection without a cluster edge certificate", "err", err)
		return pki.Identity{}, false
	}
	return peer, true
}

// peer returns the verified cluster edge recorded for s by handleSession.
func (r *Relay) peer(s *moq.Session) (pki.Identity, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.peers[s]
	return p, ok
}
