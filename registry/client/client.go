// Package client is a Go client for the origin REST API, used by the CLI,
// edges, tests and benchmarks. Any origin may be addressed; the client
// fails over to the next address when one is unreachable.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Error is an API error answer.
type Error struct {
	Status     int    `json:"-"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// ErrUnreachable means no origin answered.
var ErrUnreachable = errors.New("no origin reachable")

// Client talks to one or more origins.
type Client struct {
	addrs   []string
	token   string
	http    *fasthttp.Client
	next    atomic.Uint32
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
	return &Client{
		addrs:   clean,
		token:   token,
		http:    &fasthttp.Client{MaxConnsPerHost: 4096, MaxIdleConnDuration: 30 * time.Second, ReadTimeout: 120 * time.Second},
		Timeout: 30 * time.Second,
	}
}

// WithToken returns a client sharing connections but using another token.
func (c *Client) WithToken(token string) *Client {
	return &Client{addrs: c.addrs, token: token, http: c.http, Timeout: c.Timeout}
}

// Addrs returns the origin addresses.
func (c *Client) Addrs() []string { return c.addrs }

// Do sends a request and decodes a JSON answer into out (if non-nil). It
// returns *Error for API errors. Connection failures move on to the next
// origin; API errors do not.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.DoIndex(ctx, method, path, body, out)
	return err
}

// DoIndex is Do that also returns the registry index the answer reflects
// (X-Strata-Index), for blocking queries.
func (c *Client) DoIndex(ctx context.Context, method, path string, body, out any) (uint64, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	if len(c.addrs) == 0 {
		return 0, ErrUnreachable
	}
	start := int(c.next.Load())
	var lastErr error
	for i := range c.addrs {
		addr := c.addrs[(start+i)%len(c.addrs)]
		ans, err := c.send(ctx, addr, method, path, payload)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			lastErr = err
			c.next.Store(uint32((start + i + 1) % len(c.addrs)))
			continue
		}
		if ans.status >= 400 {
			var e struct {
				Error Error `json:"error"`
			}
			if err := json.Unmarshal(ans.body, &e); err != nil || e.Error.Code == "" {
				e.Error = Error{Code: "http_error", Message: string(bytes.TrimSpace(ans.body))}
			}
			e.Error.Status = ans.status
			e.Error.RetryAfter = ans.retryAfter
			return ans.index, &e.Error
		}
		if out != nil && ans.status != 204 {
			if err := json.Unmarshal(ans.body, out); err != nil {
				return ans.index, fmt.Errorf("decode %s %s answer: %w", method, path, err)
			}
		}
		return ans.index, nil
	}
	return 0, fmt.Errorf("%w: %v", ErrUnreachable, lastErr)
}

// answer is what send read from one origin.
type answer struct {
	status, retryAfter int
	index              uint64
	body               []byte
}

// send makes one HTTP exchange. fasthttp cannot cancel a request in
// flight, so when ctx can be cancelled the exchange runs in its own
// goroutine (which owns the pooled request and response) and send returns
// as soon as ctx ends: a long-poll never holds up its caller's shutdown.
func (c *Client) send(ctx context.Context, addr, method, path string, payload []byte) (answer, error) {
	timeout := c.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	exchange := func() (answer, error) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		req.Header.SetMethod(method)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if payload != nil {
			req.Header.SetContentType("application/json")
			req.SetBody(payload)
		}
		if err := c.http.DoTimeout(req, resp, timeout); err != nil {
			return answer{}, err
		}
		a := answer{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...)}
		a.index, _ = strconv.ParseUint(string(resp.Header.Peek("X-Strata-Index")), 10, 64)
		a.retryAfter, _ = strconv.Atoi(string(resp.Header.Peek("Retry-After")))
		return a, nil
	}
	if ctx.Done() == nil {
		return exchange()
	}
	type result struct {
		a   answer
		err error
	}
	ch := make(chan result, 1)
	go func() {
		a, err := exchange()
		ch <- result{a, err}
	}()
	select {
	case r := <-ch:
		return r.a, r.err
	case <-ctx.Done():
		return answer{}, ctx.Err()
	}
}

// Raw sends a request with a raw body and returns status and body, for
// tests of malformed input.
func (c *Client) Raw(method, path, contentType string, body []byte) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + c.addrs[0] + path)
	req.Header.SetMethod(method)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.SetBody(body)
	if err := c.http.DoTimeout(req, resp, c.Timeout); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Retryable reports whether err is worth retrying: unreachable origins, no
// leader, timeouts.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == 503 || e.Status == 504 || e.Code == "no_leader"
	}
	return errors.Is(err, ErrUnreachable)
}
