package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// HeaderIndex carries the registry index an answer reflects; pass it back
// as a blocking query's index.
const HeaderIndex = "X-Strata-Index"

// DefaultTimeout bounds one exchange when the caller's context has no
// deadline.
const DefaultTimeout = 30 * time.Second

// transport is shared by every client: keep-alive connections per
// origin, as many as there are concurrent callers (benches run 256).
var transport http.RoundTripper = newConnPool()

// Client talks to one or more origins. Any origin serves any call; on a
// connection error the client tries the next address (an API error is an
// answer and is returned as is). A Client is safe for concurrent use.
type Client struct {
	addrs []string
	token string
	rt    http.RoundTripper
	https bool
	next  atomic.Uint32
	// Timeout bounds one exchange when the call's context has no deadline
	// (default DefaultTimeout). Blocking queries extend it by their wait.
	Timeout time.Duration
}

// New returns a client for the given origin API addresses (host:port or
// http://host:port) authenticating with token.
func New(token string, addrs ...string) *Client {
	clean := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			a = u.Host
		}
		clean = append(clean, a)
	}
	return &Client{addrs: clean, token: token, rt: transport, Timeout: DefaultTimeout}
}

// WithToken returns a client for the same origins, sharing connections,
// that authenticates with another token.
func (c *Client) WithToken(token string) *Client {
	return &Client{addrs: c.addrs, token: token, rt: c.rt, https: c.https, Timeout: c.Timeout}
}

// WithTransport returns a copy of the client that sends its requests
// through rt, for tests that fake origins in process.
func (c *Client) WithTransport(rt http.RoundTripper) *Client {
	return &Client{addrs: c.addrs, token: c.token, rt: rt, https: c.https, Timeout: c.Timeout}
}

// WithTLS returns a copy of the client that speaks HTTPS with cfg: the
// cluster CA to trust (pki.TrustConfig, pki.PinnedConfig) and, for a
// node, its certificate. The copy has its own connections; copies made
// from it (WithToken) share them.
func (c *Client) WithTLS(cfg *tls.Config) *Client {
	return &Client{addrs: c.addrs, token: c.token, rt: newTLSPool(cfg), https: true, Timeout: c.Timeout}
}

// Addrs returns the origin addresses.
func (c *Client) Addrs() []string { return c.addrs }

// answer is what one origin sent back.
type answer struct {
	status, retryAfter int
	index              uint64
	body               []byte
}

// call sends one request, failing over across origins, and decodes a
// JSON answer into out (if non-nil). It returns the registry index the
// answer reflects, and *Error for an API error.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) (uint64, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	if len(c.addrs) == 0 {
		return 0, ErrUnreachable
	}
	start := int(c.next.Load())
	var lastErr error
	for i := range c.addrs {
		addr := c.addrs[(start+i)%len(c.addrs)]
		ans, err := c.send(ctx, addr, method, path, "application/json", payload)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			lastErr = err
			c.next.Store(uint32((start + i + 1) % len(c.addrs)))
			continue
		}
		if err := ErrorFrom(ans.status, ans.body); err != nil {
			err.(*Error).RetryAfter = ans.retryAfter
			return ans.index, err
		}
		if out != nil && ans.status != http.StatusNoContent {
			if err := json.Unmarshal(ans.body, out); err != nil {
				return ans.index, fmt.Errorf("decode %s %s answer: %w", method, path, err)
			}
		}
		return ans.index, nil
	}
	return 0, fmt.Errorf("%w: %w", ErrUnreachable, lastErr)
}

// send makes one HTTP exchange with one origin; payload, when non-nil, is
// sent with contentType.
func (c *Client) send(ctx context.Context, addr, method, path, contentType string, payload []byte) (answer, error) {
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// The request is built field by field: the path is ours, already
	// escaped, so parsing a URL per call would only cost time.
	u := &url.URL{Scheme: "http", Host: addr, Path: path}
	if c.https {
		u.Scheme = "https"
	}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	}
	if raw, err := url.PathUnescape(u.Path); err == nil && raw != u.Path {
		u.RawPath, u.Path = u.Path, raw
	}
	req, err := http.NewRequestWithContext(ctx, method, "", nil)
	if err != nil {
		return answer{}, err
	}
	req.URL, req.Host = u, addr
	if payload != nil {
		req.Body, req.ContentLength = newByteBody(payload), int64(len(payload))
		if contentType != "" {
			req.Header["Content-Type"] = []string{contentType}
		}
	}
	if c.token != "" {
		req.Header["Authorization"] = []string{"Bearer " + c.token}
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return answer{}, err
	}
	b, err := bodyBytes(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	a := answer{status: resp.StatusCode, body: b}
	a.index, _ = strconv.ParseUint(resp.Header.Get(HeaderIndex), 10, 64)
	a.retryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	return a, nil
}

// Raw sends a request with a raw body to the first origin and returns the
// status and body as they came, for tests of malformed input (see
// ErrorFrom). An empty contentType sends none.
func (c *Client) Raw(method, path, contentType string, body []byte) (int, []byte, error) {
	if len(c.addrs) == 0 {
		return 0, nil, ErrUnreachable
	}
	if body == nil {
		body = []byte{}
	}
	ans, err := c.send(context.Background(), c.addrs[0], method, path, contentType, body)
	if err != nil {
		return 0, nil, err
	}
	return ans.status, ans.body, nil
}

// collect reads a list from q's cursor to its end, following next_cursor.
// Only the first request carries a blocking query's index and wait; it
// returns the index of that first answer.
func collect[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, uint64, error) {
	var all []T
	var first uint64
	for n := 0; ; n++ {
		var page List[T]
		idx, err := c.call(ctx, http.MethodGet, path, q, nil, &page)
		if err != nil {
			return nil, 0, err
		}
		if n == 0 {
			first = idx
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || page.NextCursor == q.Get("cursor") {
			return all, first, nil
		}
		q = clone(q)
		q.Del("index")
		q.Del("wait")
		q.Set("cursor", page.NextCursor)
	}
}

// onePage reads a single page of a list.
func onePage[T any](ctx context.Context, c *Client, path string, q url.Values) (*List[T], error) {
	var page List[T]
	if _, err := c.call(ctx, http.MethodGet, path, q, nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

func clone(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// get reads one object into a new T.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	var v T
	if _, err := c.call(ctx, http.MethodGet, path, q, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// post sends body and decodes the answer into a new T.
func post[T any](ctx context.Context, c *Client, path string, q url.Values, body any) (*T, error) {
	var v T
	if _, err := c.call(ctx, http.MethodPost, path, q, body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
