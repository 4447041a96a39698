package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/authz"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/webrtc"
)

// rtcAuthorizer is the WHIP/WHEP Authorizer: the edge's one Authorizer,
// so WebRTC admits exactly the tokens MoQ does, mapped to WebRTC's roles.
// A relay token, good for pulling over MoQ, does not admit a WHEP viewer.
func rtcAuthorizer(a *authz.Authorizer) webrtc.Authorizer {
	return func(_ context.Context, tok string, ns media.Namespace, want webrtc.Role) (webrtc.Grant, error) {
		g, err := rtcAuthorize(a, tok, ns, want)
		if errors.Is(err, token.ErrExpired) {
			err = fmt.Errorf("%w: %w", webrtc.ErrTokenExpired, err)
		}
		return g, err
	}
}

// rtcAuthorize is rtcAuthorizer's decision.
func rtcAuthorize(a *authz.Authorizer, tok string, ns media.Namespace, want webrtc.Role) (webrtc.Grant, error) {
	if tok == "" {
		return webrtc.Grant{}, authz.ErrNoToken
	}
	if want == webrtc.RolePublisher {
		c, err := a.Authorize(tok, ns, token.RolePublisher)
		if err != nil {
			return webrtc.Grant{}, err
		}
		return webrtc.Grant{Role: webrtc.RolePublisher, Issued: c.IssuedAt}, nil
	}
	c, err := a.Authorize(tok, ns, token.RoleViewer)
	if err != nil {
		return webrtc.Grant{}, err
	}
	switch c.Role {
	case token.RoleController:
		return webrtc.Grant{Role: webrtc.RoleController}, nil
	case token.RoleViewer:
		return webrtc.Grant{Role: webrtc.RoleViewer}, nil
	}
	return webrtc.Grant{}, fmt.Errorf("%w: %s token cannot %s %s over WebRTC", authz.ErrUnauthorized, c.Role, want, ns)
}

// nodeLookup reads a node's registration from the origins.
type nodeLookup interface {
	Node(ctx context.Context, id string) (api.Node, error)
}

// boundChecker names the node a valid token for ns is bound to, when
// that is another one (*authz.Authorizer).
type boundChecker interface {
	BoundElsewhere(tok string, ns media.Namespace) (node string, ok bool)
}

var _ boundChecker = (*authz.Authorizer)(nil)

// viewerRouter sends a WHEP viewer (or WHIP publisher) whose valid token
// is bound to another edge, the one the origin routed it to, there with a
// 307; anything else is left to authorization. The Location carries the
// token in its query (webrtc.TokenParam), since browsers drop
// Authorization on a redirect to another origin; the token is bound to
// that edge, so it goes nowhere it was not already valid.
type viewerRouter struct {
	auth    boundChecker
	nodes   nodeLookup
	timeout time.Duration // bounds the node lookup
}

func (v *viewerRouter) route(ctx context.Context, ns media.Namespace, req *webrtc.Request) (string, error) {
	tok, _ := req.Token()
	node, ok := v.auth.BoundElsewhere(tok, ns)
	if !ok {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	n, err := v.nodes.Node(ctx, node)
	if err != nil {
		return "", fmt.Errorf("route client to %s: %w", node, err)
	}
	addr := n.Addrs["whip"]
	if addr == "" {
		return "", nil
	}
	return "https://" + addr, nil
}
