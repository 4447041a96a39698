package moq

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Config tunes a session. The zero value is usable.
type Config struct {
	// Versions offered (client) or accepted in preference order (server).
	// Empty means wire.SupportedVersions().
	Versions []wire.Version
	// MaxRequestID is the request window granted to the peer: it may use
	// request IDs below this, and the window slides as requests arrive.
	// 0 means DefaultMaxRequestID.
	MaxRequestID uint64
	// Path is the PATH setup parameter a raw QUIC client sends (the URI
	// path and query). Ignored over WebTransport, where the spec forbids it.
	Path string
	// Limits bounds incoming object payloads and extension blocks.
	Limits wire.Limits
	// AliasWait bounds how long a data stream for an unknown Track Alias
	// waits for the SUBSCRIBE_OK that names it (streams and control
	// messages are not ordered). 0 means DefaultAliasWait.
	AliasWait time.Duration
	// AuthToken, if set, is sent by a client in CLIENT_SETUP as an
	// AUTHORIZATION TOKEN by value (see SetupTokens on the server).
	AuthToken []byte
	// Logger receives session events; nil means slog.Default().
	Logger *slog.Logger
	// AcceptPublish makes peer PUBLISH requests wait for AcceptPublish;
	// without it they are answered NOT_SUPPORTED.
	AcceptPublish bool
}

// Defaults for Config's zero values.
const (
	DefaultMaxRequestID = 128
	DefaultAliasWait    = 2 * time.Second
	// objectQueue is how many objects a subscription buffers before the
	// stream readers feeding it apply back-pressure.
	objectQueue = 64
	// incomingQueue is how many unanswered peer subscriptions may wait
	// for AcceptSubscription.
	incomingQueue = 16
)

func (c Config) versions() []wire.Version {
	if len(c.Versions) == 0 {
		return wire.SupportedVersions()
	}
	return c.Versions
}

// ALPNs lists the raw QUIC ALPNs of the configured versions, newest
// first, for a TLS configuration a listener hands out per connection
// (GetConfigForClient) in place of the one Listen sets.
func (c Config) ALPNs() []string { return c.protocols(false) }

// inBandVersions are the configured versions CLIENT_SETUP negotiates.
func (c Config) inBandVersions() []wire.Version {
	var out []wire.Version
	for _, v := range c.versions() {
		if v.InBandNegotiation() {
			out = append(out, v)
		}
	}
	return out
}

// protocols lists the ALPNs (and WebTransport protocols) to offer for the
// configured versions, newest first; in-band versions share moq-00, and
// webTransport leaves them out (no protocol there means draft 14).
func (c Config) protocols(webTransport bool) []string {
	var out []string
	for _, v := range c.versions() {
		if v.InBandNegotiation() && webTransport {
			continue
		}
		if p := v.ALPN(); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (c Config) maxRequestID() uint64 {
	if c.MaxRequestID == 0 {
		return DefaultMaxRequestID
	}
	return c.MaxRequestID
}

func (c Config) aliasWait() time.Duration {
	if c.AliasWait <= 0 {
		return DefaultAliasWait
	}
	return c.AliasWait
}

// Session is one MOQT session over a QUIC or WebTransport connection.
type Session struct {
	conn     Conn
	cfg      Config
	log      *slog.Logger
	codec    *wire.Codec
	isClient bool
	path     string // PATH the client sent (server side, raw QUIC)

	ctrl   Stream
	ctrlR  *bufio.Reader
	sm     *streamMode // draft 18: requests on streams (session18.go)
	chosen *wire.Codec // the version ALPN chose, if setup has none
	// reqKinds (draft 16) remembers what our open requests are, so the
	// generic REQUEST_OK and REQUEST_ERROR can be read as their replies.
	reqKinds map[uint64]wire.MessageType
	writeMu  sync.Mutex // serializes control writes; never taken under mu
	wbuf     []byte     // guarded by writeMu

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closer func() // releases transport resources after close; may be nil

	mu            sync.Mutex
	closeErr      error
	nextReqID     uint64        // next request ID this endpoint uses
	peerMax       uint64        // first request ID the peer forbids us
	peerMaxCh     chan struct{} // closed when peerMax rises
	blockedSentAt uint64        // peerMax at which REQUESTS_BLOCKED was sent
	nextPeerReqID uint64        // request ID expected next from the peer
	localMax      uint64        // first request ID we forbid the peer
	gotGoAway     bool
	subs          map[uint64]*Subscription // by request ID
	byAlias       map[uint64]*Subscription
	aliasCh       chan struct{}           // closed when an alias is registered
	pubs          map[uint64]*Publication // by the peer's request ID
	nextAlias     uint64
	incoming      chan *IncomingSubscription
	incomingNS    chan *IncomingNamespace
	nsIn          []*IncomingNamespace     // accepted peer namespaces
	nsOut         map[uint64]*Announcement // our namespaces, by request ID
	setupTokens   [][]byte                 // from CLIENT_SETUP or the URL (server side)
	pubTracks     *publishState            // PUBLISH requests (publishtrack.go)
}

// Version reports the negotiated version.
func (s *Session) Version() wire.Version { return s.codec.Version() }

// Path reports the PATH a raw QUIC client requested (server side). Its
// query may hold a token (URLTokenParam): log it only through RedactURL.
func (s *Session) Path() string { return s.path }

// TLS reports the TLS handshake of the session's connection; ok is false
// for a transport that has none to report.
func (s *Session) TLS() (state tls.ConnectionState, ok bool) {
	if c, ok := s.conn.(tlsConn); ok {
		return c.TLS(), true
	}
	return tls.ConnectionState{}, false
}

// Context ends when the session does.
func (s *Session) Context() context.Context { return s.ctx }

// Err reports why the session ended, or nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

func newSession(conn Conn, cfg Config, isClient bool) *Session {
	ctx, cancel := context.WithCancel(conn.Context())
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Session{
		conn: conn, cfg: cfg, isClient: isClient, ctx: ctx, cancel: cancel,
		log:        log.With("component", "moq"),
		peerMaxCh:  make(chan struct{}),
		aliasCh:    make(chan struct{}),
		subs:       map[uint64]*Subscription{},
		byAlias:    map[uint64]*Subscription{},
		pubs:       map[uint64]*Publication{},
		incoming:   make(chan *IncomingSubscription, incomingQueue),
		incomingNS: make(chan *IncomingNamespace, incomingQueue),
		nsOut:      map[uint64]*Announcement{},
		localMax:   cfg.maxRequestID(),
	}
	if !isClient {
		s.nextReqID, s.blockedSentAt = 1, ^uint64(0)
	} else {
		s.nextPeerReqID, s.blockedSentAt = 1, ^uint64(0)
	}
	return s
}

// Client runs the client side of the setup handshake on conn: it opens
// the control stream, offers cfg's versions and waits for SERVER_SETUP.
// On failure the connection is closed with the matching error code.
func Client(ctx context.Context, conn Conn, cfg Config) (*Session, error) {
	s := newSession(conn, cfg, true)
	if err := s.setup(ctx); err != nil {
		s.fail(err)
		if remote := s.remoteCloseOf(err); remote != nil {
			// The server refused the session (a bad token, say): return
			// its code and reason as a *SessionError.
			return nil, fmt.Errorf("moq: setup: %w", remote)
		}
		return nil, err
	}
	s.start()
	return s, nil
}

// Server runs the server side of the setup handshake: it accepts the
// control stream, picks the first of cfg's versions the client offers,
// and answers with SERVER_SETUP.
func Server(ctx context.Context, conn Conn, cfg Config) (*Session, error) {
	s := newSession(conn, cfg, false)
	if err := s.setup(ctx); err != nil {
		s.fail(err)
		return nil, err
	}
	s.start()
	return s, nil
}

// setup runs the handshake of the version the transport negotiated: an
// ALPN or WebTransport protocol naming a draft selects it, and anything
// else (moq-00, or WebTransport without a protocol) negotiates among the
// in-band versions in CLIENT_SETUP.
func (s *Session) setup(ctx context.Context) error {
	if v, ok := negotiatedVersion(s.conn); ok {
		if !slices.Contains(s.cfg.versions(), v) {
			return protocolError(wire.CodeVersionNegotiationFail, "transport negotiated unconfigured %v", v)
		}
		c, err := wire.CodecFor(v)
		if err != nil {
			return err
		}
		s.codec = c
		if c.Has(wire.TypeSetup) {
			return s.setup18(ctx)
		}
		s.chosen = c // draft 16: control stream setup without versions
	}
	if s.isClient {
		return s.clientSetup(ctx)
	}
	return s.serverSetup(ctx)
}

// setupCodec frames the setup messages: the transport's chosen version's
// (draft 16), or draft 14's, whose layout all versions that negotiate
// in-band share.
func (s *Session) setupCodec() *wire.Codec {
	if s.chosen != nil {
		return s.chosen
	}
	c, _ := wire.CodecFor(wire.Draft14)
	return c
}

// readSetup reads one setup message, abandoning the read if ctx ends.
func (s *Session) readSetup(ctx context.Context) (wire.Message, error) {
	stop := context.AfterFunc(ctx, func() { s.ctrl.CancelRead(uint64(wire.CodeControlMessageTimeout)) })
	defer stop()
	return s.setupCodec().ReadMessage(s.ctrlR, 0)
}

// clientSetupParams adds the client's token and PATH (raw QUIC only) to
// the setup parameters the version needs.
func (s *Session) clientSetupParams(params ...wire.KeyValuePair) (wire.Parameters, error) {
	if len(s.cfg.AuthToken) > 0 {
		p, err := TokenParam(s.cfg.AuthToken)
		if err != nil {
			return nil, err
		}
		params = append(params, p)
	}
	if s.cfg.Path != "" && !s.conn.WebTransport() {
		params = append(params, wire.BytesPair(wire.SetupParamPath, []byte(s.cfg.Path)))
	}
	return params, nil
}

func (s *Session) clientSetup(ctx context.Context) error {
	st, err := s.conn.OpenStream(ctx)
	if err != nil {
		return fmt.Errorf("open control stream: %w", err)
	}
	s.ctrl, s.ctrlR = st, bufio.NewReader(st)
	setPriority(st, urgencyControl)
	params, err := s.clientSetupParams(wire.IntPair(wire.SetupParamMaxRequestID, s.localMax))
	if err != nil {
		return err
	}
	s.codec = s.setupCodec()
	versions := s.cfg.inBandVersions()
	if s.chosen != nil {
		versions = nil // ALPN chose the version
	}
	if err := s.write(&wire.ClientSetup{Versions: versions, Params: params}); err != nil {
		return err
	}
	m, err := s.readSetup(ctx)
	if err != nil {
		return fmt.Errorf("read SERVER_SETUP: %w", err)
	}
	ss, ok := m.(*wire.ServerSetup)
	if !ok {
		return protocolError(wire.CodeProtocolViolation, "expected SERVER_SETUP, got %v", m.Type())
	}
	if s.chosen != nil {
		ss.Version = s.chosen.Version()
	} else if !slices.Contains(s.cfg.inBandVersions(), ss.Version) {
		return protocolError(wire.CodeVersionNegotiationFail, "server chose unoffered version %v", ss.Version)
	}
	if _, ok := ss.Params.Get(wire.SetupParamPath); ok {
		return protocolError(wire.CodeInvalidPath, "PATH from server")
	}
	if s.codec, err = wire.CodecFor(ss.Version); err != nil {
		return err
	}
	s.peerMax, _ = ss.Params.Uint(wire.SetupParamMaxRequestID)
	return nil
}

func (s *Session) serverSetup(ctx context.Context) error {
	st, err := s.conn.AcceptStream(ctx)
	if err != nil {
		return fmt.Errorf("accept control stream: %w", err)
	}
	s.ctrl, s.ctrlR = st, bufio.NewReader(st)
	setPriority(st, urgencyControl)
	m, err := s.readSetup(ctx)
	if err != nil {
		return fmt.Errorf("read CLIENT_SETUP: %w", err)
	}
	cs, ok := m.(*wire.ClientSetup)
	if !ok {
		return protocolError(wire.CodeProtocolViolation, "expected CLIENT_SETUP, got %v", m.Type())
	}
	var chosen wire.Version
	for _, v := range s.cfg.inBandVersions() {
		if slices.Contains(cs.Versions, v) {
			chosen = v
			break
		}
	}
	if s.chosen != nil {
		chosen = s.chosen.Version()
	}
	if chosen == 0 {
		return protocolError(wire.CodeVersionNegotiationFail, "no common version in %v", cs.Versions)
	}
	if p, ok := cs.Params.Get(wire.SetupParamPath); ok {
		if s.conn.WebTransport() {
			return protocolError(wire.CodeInvalidPath, "PATH over WebTransport")
		}
		s.path = string(p.Bytes)
	}
	if s.codec, err = wire.CodecFor(chosen); err != nil {
		return err
	}
	s.setupTokens = Tokens(cs.Params)
	if len(s.setupTokens) == 0 {
		if tok := s.urlToken(); tok != nil {
			s.setupTokens = [][]byte{tok}
		}
	}
	s.peerMax, _ = cs.Params.Uint(wire.SetupParamMaxRequestID)
	return s.write(&wire.ServerSetup{Version: chosen, Params: wire.Parameters{
		wire.IntPair(wire.SetupParamMaxRequestID, s.localMax)}})
}

// protocolError builds a session-ending error with an explicit code.
func protocolError(code wire.ErrorCode, format string, args ...any) error {
	return &SessionError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// codeOf maps any error to the code the session closes with.
func codeOf(err error) (wire.ErrorCode, string) {
	var se *SessionError
	if errors.As(err, &se) {
		return se.Code, se.Reason
	}
	return wire.CodeOf(err), err.Error()
}

// write frames and sends one control message (draft 18: routes it onto
// the request streams, see send18).
func (s *Session) write(m wire.Message) error {
	if s.sm != nil {
		return s.send18(m)
	}
	if id, _, ok := requestOf(m); ok && s.codec.Has(wire.TypeRequestOK) {
		s.mu.Lock()
		if s.reqKinds == nil {
			s.reqKinds = map[uint64]wire.MessageType{}
		}
		s.reqKinds[id] = m.Type()
		s.mu.Unlock()
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	b, err := s.codec.AppendMessage(s.wbuf[:0], m)
	if err != nil {
		return err
	}
	s.wbuf = b
	if _, err := s.ctrl.Write(b); err != nil {
		return fmt.Errorf("write %v: %w", m.Type(), err)
	}
	return nil
}

func (s *Session) start() {
	s.wg.Add(3)
	go s.controlLoop()
	go s.acceptUniLoop()
	go s.datagramLoop()
	if s.sm != nil || s.codec.Has(wire.TypeRequestOK) {
		// Draft 16 opens a stream for SUBSCRIBE_NAMESPACE only; draft 18
		// for every request.
		s.wg.Add(1)
		go s.acceptRequests()
	}
	if s.sm != nil {
		for _, e := range s.sm.early {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.readDataStreamAfterType(e.st, e.r, e.t)
			}()
		}
		s.sm.early = nil
	}
}

// fail closes the session because of err, choosing the code from it.
func (s *Session) fail(err error) {
	if remote := s.remoteCloseOf(err); remote != nil {
		s.finish(remote)
		return
	}
	code, reason := codeOf(err)
	if code == wire.CodeInternalError && s.ctx.Err() != nil {
		// The transport is already gone; nothing to tell the peer.
		s.finish(&SessionError{Code: code, Reason: reason, Remote: true})
		return
	}
	s.closeWith(code, reason)
}

// remoteClose recognizes a peer's session close in a transport error and
// returns its code and reason.
func remoteClose(err error) *SessionError {
	var qe *quic.ApplicationError
	if errors.As(err, &qe) && qe.Remote {
		return &SessionError{Code: wire.ErrorCode(qe.ErrorCode), Reason: qe.ErrorMessage, Remote: true, cause: err}
	}
	var we *webtransport.SessionError
	if errors.As(err, &we) && we.Remote {
		return &SessionError{Code: wire.ErrorCode(we.ErrorCode), Reason: we.Message, Remote: true, cause: err}
	}
	return nil
}

// closeCauser is implemented by transports that can report why they
// ended, so a peer's close code survives whichever error a read saw first.
type closeCauser interface{ closeCause() error }

// remoteCloseOf finds the peer's close in err or, failing that, in the
// transport's own record of why it ended.
func (s *Session) remoteCloseOf(err error) *SessionError {
	if remote := remoteClose(err); remote != nil {
		return remote
	}
	if cc, ok := s.conn.(closeCauser); ok {
		if cause := cc.closeCause(); cause != nil {
			return remoteClose(cause)
		}
	}
	return nil
}

// CloseWithError ends the session with an MOQT termination code and waits
// for its goroutines.
func (s *Session) CloseWithError(code wire.ErrorCode, reason string) error {
	s.closeWith(code, reason)
	s.wg.Wait()
	return nil
}

// Close ends the session with NO_ERROR.
func (s *Session) Close() error { return s.CloseWithError(wire.CodeNoError, "") }

func (s *Session) closeWith(code wire.ErrorCode, reason string) {
	if remote := s.remoteCloseOf(nil); remote != nil {
		// The peer closed first and a reader has not recorded it yet.
		s.finish(remote)
	}
	if s.finish(&SessionError{Code: code, Reason: reason}) {
		if err := s.conn.CloseWithError(uint64(code), reason); err != nil {
			s.log.Debug("close transport", "err", err)
		}
		if s.closer != nil {
			s.closer()
		}
	}
}

// finish records the first close reason and wakes every waiter. It
// reports whether this call was the one that closed the session.
func (s *Session) finish(err error) bool {
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return false
	}
	s.closeErr = err
	subs := s.subs
	s.subs = map[uint64]*Subscription{}
	nsIn := s.nsIn
	s.nsIn = nil
	nsOut := s.nsOut
	s.nsOut = map[uint64]*Announcement{}
	s.mu.Unlock()
	s.cancel()
	for _, sub := range subs {
		sub.end(err)
	}
	for _, in := range nsIn {
		in.finish()
	}
	for _, a := range nsOut {
		a.cancel()
	}
	return true
}

// sessionErr returns the close reason, defaulting to ErrSessionClosed.
func (s *Session) sessionErr() error {
	if err := s.Err(); err != nil {
		return err
	}
	return ErrSessionClosed
}
