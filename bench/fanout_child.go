package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// childConfig is what FanoutMoQ hands its subscriber process.
type childConfig struct {
	Addr        string        `json:"addr"`
	Subscribers int           `json:"subscribers"`
	CertDER     string        `json:"cert_der"` // base64 of the relay's self-signed certificate
	Token       string        `json:"token"`
	Namespace   []string      `json:"namespace"`
	Track       string        `json:"track"`
	Timeout     time.Duration `json:"timeout"`
	FPS         int           `json:"fps"`
	Version     uint64        `json:"version"` // MoQ Transport version to offer
}

// childReport is the subscriber process's one JSON line on stdout.
type childReport struct {
	Objects int64   `json:"objects"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	Errors  int     `json:"errors"`
	Freezes int64   `json:"freezes"`
}

// RunFanoutChildIfRequested runs FanoutMoQ's subscriber process when the
// environment asks for it, writes its report to stdout and returns true;
// otherwise it returns false at once. A binary that calls FanoutMoQ
// (cmd/strata-bench, or a test binary's TestMain) calls it first and
// exits when it returns true.
func RunFanoutChildIfRequested() (bool, error) {
	if child, err := runWebRTCChildIfRequested(); child {
		return true, err
	}
	raw, ok := os.LookupEnv(fanoutChildEnv)
	if !ok {
		return false, nil
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return true, fmt.Errorf("%w: child config: %v", ErrFanoutConfig, err)
	}
	rep, err := runFanoutChild(cfg)
	if err != nil {
		return true, err
	}
	return true, json.NewEncoder(os.Stdout).Encode(rep)
}

func runFanoutChild(cfg childConfig) (childReport, error) {
	der, err := base64.StdEncoding.DecodeString(cfg.CertDER)
	if err != nil {
		return childReport{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return childReport{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	tp, err := moq.TokenParam([]byte(cfg.Token))
	if err != nil {
		return childReport{}, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	var (
		mu      sync.Mutex
		lat     []float64
		objects int64
		errs    int
		freezes int64
		wg      sync.WaitGroup
	)
	for range cfg.Subscribers {
		s, err := moq.DialQUIC(ctx, cfg.Addr, tc, nil, moq.Config{Logger: quiet, Versions: []wire.Version{wire.Version(cfg.Version)}})
		if err != nil {
			return childReport{}, err
		}
		if s.Version() != wire.Version(cfg.Version) {
			return childReport{}, fmt.Errorf("negotiated %v, want %v", s.Version(), wire.Version(cfg.Version))
		}
		defer s.Close()
		sub, err := s.Subscribe(ctx, wire.Subscribe{Namespace: cfg.Namespace, TrackName: cfg.Track, Forward: true,
			GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject},
			Params: wire.Parameters{tp}})
		if err != nil {
			return childReport{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []float64
			var n, froze int64
			fc := freezeClock{gap: freezeGap(cfg.FPS)}
			for {
				o, err := sub.ReadObject(ctx)
				if err != nil {
					mu.Lock()
					if !errors.Is(err, moq.ErrSubscriptionDone) {
						errs++
					}
					lat, objects, freezes = append(lat, local...), objects+n, freezes+froze
					mu.Unlock()
					return
				}
				if o.Status != wire.StatusNormal {
					continue
				}
				n++
				if fc.frame(time.Now()) {
					froze++
				}
				if kv, ok := o.Extensions.Get(0x10); ok {
					local = append(local, float64(time.Now().UnixMicro()-int64(kv.Value))/1000)
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return childReport{Objects: objects, P50Ms: percentile(lat, 0.50), P99Ms: percentile(lat, 0.99), Errors: errs, Freezes: freezes}, nil
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
