package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// connPool is the client's HTTP/1.1 transport: keep-alive connections per
// origin, on which the calling goroutine writes the request and reads the
// answer itself. net/http's Transport hands every exchange to two
// goroutines per connection; with hundreds of concurrent callers on a
// small machine those hand-offs cost the registry bench about a third of
// its writes per second, so the client keeps the exchange on the caller
// and uses net/http only to parse answers. Connections have no goroutine
// of their own: idle ones past idleTimeout are closed when the pool is
// next used.
type connPool struct {
	dialer net.Dialer
	// idleTimeout drops idle connections older than this instead of
	// reusing them (the origins close theirs after a while).
	idleTimeout time.Duration
	maxIdle     int // per origin
	// tls, when set, makes every connection a TLS one (https).
	tls *tls.Config

	mu      sync.Mutex
	idle    map[string][]*conn // by host:port, most recently used last
	sweptAt time.Time          // last pass closing stale idle connections
}

var _ http.RoundTripper = (*connPool)(nil)

// conn is one keep-alive connection.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	usedAt time.Time
}

func newConnPool() *connPool { return newTLSPool(nil) }

// newTLSPool is a pool whose connections use cfg (nil: plaintext).
// Sessions are cached so reconnecting to an origin resumes instead of
// repeating the full handshake.
func newTLSPool(cfg *tls.Config) *connPool {
	if cfg != nil {
		cfg = cfg.Clone()
		if cfg.ClientSessionCache == nil {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(256)
		}
	}
	return &connPool{
		tls:         cfg,
		dialer:      net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		idleTimeout: 30 * time.Second,
		maxIdle:     1024,
		idle:        map[string][]*conn{},
	}
}

// get returns an idle connection to addr, or nil.
func (p *connPool) get(addr string, now time.Time) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[addr]
	for len(l) > 0 {
		c := l[len(l)-1]
		l = l[:len(l)-1]
		if now.Sub(c.usedAt) < p.idleTimeout {
			p.idle[addr] = l
			return c
		}
		_ = c.nc.Close()
	}
	p.idle[addr] = l
	return nil
}

// put keeps c for reuse, or closes it when the pool is full. Now and
// then it also closes the idle connections gone stale, to origins this
// process may never call again.
func (p *connPool) put(addr string, c *conn) {
	now := time.Now()
	c.usedAt = now
	var stale []*conn
	p.mu.Lock()
	if len(p.idle[addr]) < p.maxIdle {
		p.idle[addr] = append(p.idle[addr], c)
		c = nil
	}
	if now.Sub(p.sweptAt) > p.idleTimeout/2 {
		p.sweptAt = now
		for a, l := range p.idle {
			keep := l[:0]
			for _, ic := range l {
				if now.Sub(ic.usedAt) < p.idleTimeout {
					keep = append(keep, ic)
				} else {
					stale = append(stale, ic)
				}
			}
			if len(keep) == 0 {
				delete(p.idle, a)
			} else {
				p.idle[a] = keep
			}
		}
	}
	p.mu.Unlock()
	if c != nil {
		stale = append(stale, c)
	}
	for _, ic := range stale {
		_ = ic.nc.Close()
	}
}

// dropIdle closes every idle connection to addr.
func (p *connPool) dropIdle(addr string) {
	p.mu.Lock()
	l := p.idle[addr]
	delete(p.idle, addr)
	p.mu.Unlock()
	for _, c := range l {
		_ = c.nc.Close()
	}
}

func (p *connPool) dial(ctx context.Context, addr string) (*conn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		cfg := p.tls
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: nc.RemoteAddr(), Err: err}
		}
		nc = tc
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}, nil
}

// RoundTrip sends req (an http:// or, for a TLS pool, https:// request) and reads the whole answer. A
// reused connection the origin closed while idle (it answered nothing,
// not even a status line) is replaced once by a new one, as net/http
// does; the other idle connections to that origin are dropped too, since
// it likely restarted.
func (p *connPool) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	addr := req.URL.Host
	for attempt := 0; ; attempt++ {
		var c *conn
		if attempt == 0 {
			c = p.get(addr, time.Now())
		}
		reused := c != nil
		if c == nil {
			var err error
			if c, err = p.dial(ctx, addr); err != nil {
				return nil, err
			}
		}
		resp, err := p.exchange(ctx, c, req)
		switch {
		case err == nil:
			if resp.Close {
				_ = c.nc.Close()
			} else {
				p.put(addr, c)
			}
			return resp, nil
		case reused && errors.Is(err, errIdleClosed) && ctx.Err() == nil:
			_ = c.nc.Close()
			p.dropIdle(addr)
			if _, ok := req.Body.(*byteBody); req.Body != nil && !ok {
				return nil, err // the body was consumed; it cannot be sent again
			}
			continue
		case !reused && p.tls == nil && errors.Is(err, errIdleClosed):
			// A fresh plaintext connection closed without a word is what
			// an HTTPS origin does with an http:// request.
			_ = c.nc.Close()
			return nil, fmt.Errorf("%w (origins serve HTTPS by default: trust the cluster CA, see Client.WithTLS)", err)
		default:
			_ = c.nc.Close()
			return nil, err
		}
	}
}

// byteBody is a request or answer body held in memory: the client and
// the transport hand the bytes to each other instead of copying them.
type byteBody struct {
	*bytes.Reader
	b []byte
}

func newByteBody(b []byte) *byteBody { return &byteBody{Reader: bytes.NewReader(b), b: b} }

func (*byteBody) Close() error { return nil }

// bodyBytes reads a whole body, without a copy when it is a byteBody.
func bodyBytes(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	if bb, ok := r.(*byteBody); ok {
		return bb.b, nil
	}
	return io.ReadAll(r)
}

// maxAnswerBytes bounds an answer the client reads into memory; the
// largest list page is far smaller.
const maxAnswerBytes = 64 << 20

// errIdleClosed means the origin had closed the connection before it read
// anything of the request.
var errIdleClosed = errors.New("api: connection closed by the origin while idle")

// exchange writes req on c and reads the answer with its body. The
// connection's deadline follows ctx: cancelling ctx ends a read or write
// in progress, and the connection is then not reused.
func (p *connPool) exchange(ctx context.Context, c *conn, req *http.Request) (*http.Response, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
	} else {
		_ = c.nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := writeRequest(c.bw, req); err != nil {
		if ctx.Err() == nil && closedByPeer(err) {
			return nil, fmt.Errorf("%w: %w", errIdleClosed, err)
		}
		return nil, ctxErr(ctx, err)
	}
	if _, err := c.br.Peek(1); err != nil {
		if ctx.Err() == nil && (errors.Is(err, io.EOF) || closedByPeer(err)) {
			return nil, fmt.Errorf("%w: %w", errIdleClosed, err)
		}
		return nil, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	// The answer is read whole so the connection is free for the next
	// exchange when RoundTrip returns.
	var body []byte
	switch n := resp.ContentLength; {
	case n > maxAnswerBytes:
		err = fmt.Errorf("api: answer of %d bytes is over the %d limit", n, maxAnswerBytes)
	case n >= 0:
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	default:
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	}
	_ = resp.Body.Close()
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	resp.Body = newByteBody(body)
	if !stop() {
		// ctx ended as the answer came in: the deadline is poisoned.
		resp.Close = true
	}
	return resp, nil
}

// writeRequest writes an HTTP/1.1 request line, headers and body.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(req.URL.Host)
	w.WriteString("\r\n")
	for k, vs := range req.Header {
		for _, v := range vs {
			if strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("api: invalid header %q", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	var body []byte
	if req.Body != nil {
		b, err := bodyBytes(req.Body)
		if err != nil {
			return err
		}
		body = b
	}
	if len(body) > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	return w.Flush()
}

// closedByPeer reports whether err says the origin had closed the
// connection (reset, or a write to a closed one).
func closedByPeer(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// ctxErr prefers the context's error over the I/O error its deadline
// caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
