// Package promtest runs a stock Prometheus (Debian's prometheus package)
// for the tests that prove Strata's metrics work with it: find the
// programs, start a server on a loopback port with a given
// configuration, query it, and check an exposition with promtool. It is
// a test harness: nothing in the binary imports it.
package promtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/strata-edge/strata/internal/netutil"
)

// TB is the part of testing.TB Programs uses (an interface of its own,
// so this package does not link the testing package).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Programs returns the paths of prometheus and promtool. Without them
// the test is skipped, or fails with CI=true (where CI installs the
// package).
func Programs(t TB) (prometheus, promtool string) {
	t.Helper()
	var out [2]string
	for i, name := range []string{"prometheus", "promtool"} {
		p, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (Debian package prometheus): %v", name, err)
			}
			t.Skipf("%s not found (install Debian's prometheus package): %v", name, err)
		}
		out[i] = p
	}
	return out[0], out[1]
}

// Server is a running Prometheus.
type Server struct {
	// Addr is its HTTP API's host:port.
	Addr string
	cmd  *exec.Cmd
	logs syncBuffer
}

// Start runs prometheus with config (YAML) in dir (its configuration
// file and TSDB go there) on a free loopback port.
func Start(prometheus, dir, config string) (*Server, error) {
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("promtest: %w", err)
	}
	ports, err := netutil.FreeLoopbackAddrs(1)
	if err != nil {
		return nil, fmt.Errorf("promtest: %w", err)
	}
	s := &Server{Addr: ports[0]}
	s.cmd = exec.Command(prometheus, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+s.Addr, "--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("promtest: start %s: %w", prometheus, err)
	}
	return s, nil
}

// Close stops Prometheus and waits for it.
func (s *Server) Close() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// Logs is what Prometheus wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

// Sample is one series of a query's result.
type Sample struct {
	Metric map[string]string
	Value  string
}

// Query runs an instant query.
func (s *Server) Query(q string) ([]Sample, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.Addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("promtest: query %s: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("promtest: query %s: status %s", q, r.Status)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, x := range r.Data.Result {
		if len(x.Value) == 2 {
			v, _ := x.Value[1].(string)
			out = append(out, Sample{Metric: x.Metric, Value: v})
		}
	}
	return out, nil
}

// ErrCheck means promtool found problems in an exposition.
var ErrCheck = errors.New("promtest: promtool check metrics failed")

// CheckMetrics runs `promtool check metrics` on body (Prometheus' text
// format).
func CheckMetrics(promtool, body string) error {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %w\n%s", ErrCheck, err, out)
	}
	return nil
}

// syncBuffer is a bytes.Buffer the child's output and Logs share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
