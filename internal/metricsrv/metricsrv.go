// Package metricsrv serves a node's Prometheus metrics, optionally behind
// a bearer token and on a listener of its own, so that a scrape endpoint
// that reveals load, tenants' session counts and cluster layout need not
// be open on a public API or media port.
package metricsrv

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-edge/strata/api"
)

// ErrInvalid marks a bad metrics setting; messages name the key.
var ErrInvalid = errors.New("invalid metrics configuration")

// Config is where a node serves /metrics and who may read it.
type Config struct {
	// Addr is a host:port of the metrics' own listener; empty serves them
	// where the role serves them by default.
	Addr string `yaml:"addr"`
	// Token, when set, must be presented as "Authorization: Bearer TOKEN".
	Token string `yaml:"token"`
	// TokenFile holds the token instead (read at start; surrounding
	// whitespace is ignored), keeping it off argv and out of config files.
	TokenFile string `yaml:"token_file"`
}

// Validate checks the settings, naming the key (under metrics.).
func (c Config) Validate() error {
	if c.Token != "" && c.TokenFile != "" {
		return fmt.Errorf("%w: metrics.token_file: set metrics.token or metrics.token_file, not both", ErrInvalid)
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("%w: metrics.addr: %q is not host:port", ErrInvalid, c.Addr)
		}
	}
	return nil
}

// LoadToken returns the token to require: Token, or TokenFile's contents;
// "" when neither is set (no token required).
func (c Config) LoadToken() (string, error) {
	if c.TokenFile == "" {
		return c.Token, nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("%w: metrics.token_file: %w", ErrInvalid, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w: metrics.token_file: %s is empty", ErrInvalid, c.TokenFile)
	}
	return tok, nil
}

// Handler serves g's metrics. With a token, a request without it gets 401
// with the API's JSON error (code unauthorized).
func Handler(g prometheus.Gatherer, token string) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Authorized(r.Header.Get("Authorization"), token) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: *api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized,
				"metrics require an Authorization: Bearer <metrics token> header")})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Authorized reports whether an Authorization header value presents
// token as a bearer token (compared in constant time; the scheme in any
// case). An empty token authorizes nothing.
func Authorized(header, token string) bool {
	got, ok := api.BearerToken(header)
	if token == "" || !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Server is a listener of its own serving only /metrics.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Listen binds addr and serves h at /metrics until Close: over TLS with
// tlsCfg (the node's certificate), or plain HTTP when it is nil.
func Listen(addr string, h http.Handler, tlsCfg *tls.Config, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.addr %s: %w", addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	s := &Server{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server; ctx bounds the wait for scrapes in flight,
// which are cut short when it ends.
func (s *Server) Close(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// AdvertiseAddr is the metrics address others should dial: advertise when
// set, else bound with an unspecified host (0.0.0.0, ::) replaced by the
// host of peer, an address of the same node others already reach (its
// API or gossip address).
func AdvertiseAddr(advertise, bound, peer string) string {
	if advertise != "" {
		return advertise
	}
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return bound
	}
	if ph, _, err := net.SplitHostPort(peer); err == nil && ph != "" {
		return net.JoinHostPort(ph, port)
	}
	return bound
}
