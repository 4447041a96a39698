package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dunglas/httpsfv"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// SetupTimeout bounds how long a listener waits for CLIENT_SETUP, so a
// silent peer cannot hold a handshake goroutine forever.
const SetupTimeout = 10 * time.Second

// WebTransportPath is where the server accepts MOQT over WebTransport.
const WebTransportPath = "/moq"

// quicConfig enables what MOQT needs from QUIC: datagrams, and partial
// stream resets (required by webtransport-go, useful for subgroups).
func quicConfig(c *quic.Config) *quic.Config {
	if c == nil {
		c = &quic.Config{}
	} else {
		c = c.Clone()
	}
	c.EnableDatagrams = true
	c.EnableStreamResetPartialDelivery = true
	return c
}

// DialQUIC connects over raw QUIC, offering the ALPNs of cfg's versions
// newest first (moqt-18, then moq-00 for draft 14, whose version SETUP
// negotiates), and runs the client handshake of the one the server
// picks. cfg.Path becomes the PATH setup parameter.
func DialQUIC(ctx context.Context, addr string, tlsConf *tls.Config, qconf *quic.Config, cfg Config) (*Session, error) {
	tc := tlsConf.Clone()
	tc.NextProtos = cfg.protocols(false)
	conn, err := quic.DialAddr(ctx, addr, tc, quicConfig(qconf))
	if err != nil {
		return nil, fmt.Errorf("moq: dial %s: %w", addr, err)
	}
	s, err := Client(ctx, QUICConn(conn), cfg)
	if err != nil {
		_ = conn.CloseWithError(quic.ApplicationErrorCode(wire.CodeInternalError), "setup failed")
		return nil, err
	}
	return s, nil
}

// DialWebTransport connects to an https URL over WebTransport, offering
// cfg's versions newest first in WT-Available-Protocols, and runs the
// client handshake of the one the server picks (no WT-Protocol answer
// means draft 14, negotiated in SETUP). The transport is released when
// the session ends.
func DialWebTransport(ctx context.Context, url string, tlsConf *tls.Config, qconf *quic.Config, cfg Config) (*Session, error) {
	tc := tlsConf.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	tr := &webtransport.Transport{TLSClientConfig: tc, QUICConfig: quicConfig(qconf),
		ApplicationProtocols: cfg.protocols(true)}
	rsp, wts, err := tr.Dial(ctx, url, nil)
	if err != nil {
		_ = tr.Close()
		return nil, fmt.Errorf("moq: webtransport dial %s: %w", RedactURL(url), err)
	}
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		_ = tr.Close()
		return nil, fmt.Errorf("moq: webtransport dial %s: status %d", RedactURL(url), rsp.StatusCode)
	}
	s, err := Client(ctx, WebTransportConn(wts), cfg)
	if err != nil {
		_ = tr.Close()
		return nil, err
	}
	s.closer = func() { _ = tr.Close() }
	return s, nil
}

// Listener accepts MOQT sessions over raw QUIC and WebTransport on one
// UDP socket: the TLS ALPN tells them apart (moqt-18 or moq-00, or h3).
// The newest version both sides support wins: the server's ALPN order
// decides on raw QUIC, and the listener picks from WT-Available-Protocols
// itself on WebTransport.
type Listener struct {
	cfg      Config
	log      *slog.Logger
	ql       *quic.Listener
	wt       *webtransport.Server
	sessions chan *Session

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Listen serves on pconn. tlsConf supplies certificates; its NextProtos
// are replaced. Call Close to stop; it closes the listener, not sessions
// already accepted.
func Listen(pconn net.PacketConn, tlsConf *tls.Config, qconf *quic.Config, cfg Config) (*Listener, error) {
	tc := tlsConf.Clone()
	tc.NextProtos = append(cfg.protocols(false), http3.NextProtoH3)
	ql, err := quic.Listen(pconn, tc, quicConfig(qconf))
	if err != nil {
		return nil, fmt.Errorf("moq: listen: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{cfg: cfg, log: log.With("component", "moq"), ql: ql,
		sessions: make(chan *Session), ctx: ctx, cancel: cancel}
	mux := http.NewServeMux()
	h3 := &http3.Server{Handler: mux}
	webtransport.ConfigureHTTP3Server(h3)
	// Viewers are browsers on other origins by design; access control is
	// the MOQT authorization token, not the Origin header.
	l.wt = &webtransport.Server{H3: h3, CheckOrigin: func(*http.Request) bool { return true },
		ApplicationProtocols: cfg.protocols(true)}
	mux.HandleFunc(WebTransportPath, l.upgrade)
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.ql.Addr() }

// Accept returns the next session whose handshake completed.
func (l *Listener) Accept(ctx context.Context) (*Session, error) {
	select {
	case s := <-l.sessions:
		return s, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops accepting and waits for in-flight handshakes.
func (l *Listener) Close() error {
	l.cancel()
	err := errors.Join(l.ql.Close(), l.wt.Close())
	l.wg.Wait()
	return err
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		conn, err := l.ql.Accept(l.ctx)
		if err != nil {
			return
		}
		switch proto := conn.ConnectionState().TLS.NegotiatedProtocol; {
		case proto != http3.NextProtoH3 && slices.Contains(l.cfg.protocols(false), proto):
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				l.handshake(QUICConn(conn))
			}()
		case proto == http3.NextProtoH3:
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				if err := l.wt.ServeQUICConn(conn); err != nil && l.ctx.Err() == nil {
					l.log.Debug("webtransport connection ended", "err", err)
				}
			}()
		default:
			_ = conn.CloseWithError(0, "unsupported ALPN")
		}
	}
}

func (l *Listener) upgrade(w http.ResponseWriter, r *http.Request) {
	l.preferNewest(r)
	wts, err := l.wt.Upgrade(w, r)
	if err != nil {
		l.log.Debug("webtransport upgrade failed", "err", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c := wtConn{s: wts, query: r.URL.RawQuery}
	if hs, ok := w.(http3.HTTPStreamer); ok {
		c.connect = hs.HTTPStream()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.handshake(c)
	}()
}

// handshake runs server setup and hands the session to Accept.
func (l *Listener) handshake(c Conn) {
	ctx, cancel := context.WithTimeout(l.ctx, SetupTimeout)
	defer cancel()
	s, err := Server(ctx, c, l.cfg)
	if err != nil {
		l.log.Debug("moq setup failed", "err", err)
		return
	}
	select {
	case l.sessions <- s:
	case <-l.ctx.Done():
		_ = s.CloseWithError(wire.CodeNoError, "listener closed")
	}
}

// wtAvailableProtocols is the header a WebTransport client lists its
// application protocols in, in its order of preference.
const wtAvailableProtocols = "Wt-Available-Protocols"

// preferNewest narrows the client's WT-Available-Protocols to the one
// this listener prefers (the newest version both support), because the
// WebTransport library otherwise honours the client's order.
func (l *Listener) preferNewest(r *http.Request) {
	offered := r.Header.Values(wtAvailableProtocols)
	if len(offered) == 0 {
		return
	}
	list, err := httpsfv.UnmarshalList(offered)
	if err != nil {
		return // the library rejects or ignores it the same way
	}
	var theirs []string
	for _, m := range list {
		if it, ok := m.(httpsfv.Item); ok {
			if p, ok := it.Value.(string); ok {
				theirs = append(theirs, p)
			}
		}
	}
	for _, p := range l.cfg.protocols(true) {
		if slices.Contains(theirs, p) {
			v, err := httpsfv.Marshal(httpsfv.List{httpsfv.NewItem(p)})
			if err == nil {
				r.Header.Set(wtAvailableProtocols, v)
			}
			return
		}
	}
}
