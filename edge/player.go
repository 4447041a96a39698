package edge

import (
	"net"
	"net/http"

	"github.com/strata-edge/strata/player"
)

// mountPlayer serves the browser player on the edge's HTTPS server:
// /player.js and the /embed/{session}?token=... page, which points the
// player at this edge's MoQ endpoint (the host the browser used, the MoQ
// port) and pins a self-signed certificate by its hash.
func (m *mediaServer) mountPlayer(mux *http.ServeMux) {
	cfg := player.Config{Logger: m.log}
	if m.quicConn != nil {
		_, port, err := net.SplitHostPort(m.quicConn.LocalAddr().String())
		if err == nil {
			cfg.MoQURL = func(r *http.Request) string {
				host := r.Host
				if h, _, err := net.SplitHostPort(r.Host); err == nil {
					host = h
				}
				return "https://" + net.JoinHostPort(host, port) + "/moq"
			}
		}
	}
	if m.cert != nil {
		sum := m.cert.SHA256
		cfg.CertSHA256 = sum[:]
	}
	h := player.Handler(cfg)
	mux.Handle(player.ScriptPath, h)
	mux.Handle(player.EmbedPath, h)
}
