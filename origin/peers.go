package origin

import (
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// peerClients keeps one pooled HTTP client per peer origin.
type peerClients struct {
	// tls is the mutual-TLS config for other origins; nil is plaintext.
	tls     *tls.Config
	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient
}

func newPeerClients() *peerClients {
	return &peerClients{clients: map[string]*fasthttp.HostClient{}}
}

func (p *peerClients) client(addr string) *fasthttp.HostClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clients[addr]
	if c == nil {
		c = &fasthttp.HostClient{Addr: addr, MaxConns: 1024, MaxIdleConnDuration: 30 * time.Second, IsTLS: p.tls != nil, TLSConfig: p.tls}
		p.clients[addr] = c
	}
	return c
}

// post sends a JSON body and fails unless the answer is 2xx.
func (p *peerClients) post(addr, path, token string, body []byte) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(p.scheme() + "://" + addr + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.SetBody(body)
	if err := p.client(addr).DoTimeout(req, resp, 15*time.Second); err != nil {
		return err
	}
	if sc := resp.StatusCode(); sc/100 != 2 {
		return fmt.Errorf("%s answered %d: %s", addr, sc, resp.Body())
	}
	return nil
}

func (p *peerClients) scheme() string {
	if p.tls != nil {
		return "https"
	}
	return "http"
}

func (p *peerClients) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}
