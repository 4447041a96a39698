package edge

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/pki"
)

// DefaultMetricsAddr is where `strata edge` serves /metrics unless
// metrics.addr says otherwise: a port of its own next to gossip's 7946,
// meant for the same private cluster network, HTTPS with the edge's
// cluster certificate like every node-to-node listener. The public media
// listeners are not used: their certificate is the public one, and a
// scrape endpoint there would be open to every viewer.
const DefaultMetricsAddr = "0.0.0.0:7947"

// metricsRegistry picks the registry the edge's metrics go to and are
// served from when metrics.addr is set: deps.Registerer if it can also be
// gathered, else a registry of the edge's own with the Go and process
// collectors. Without metrics.addr the edge serves no metrics and reg is
// deps.Registerer unchanged.
func metricsRegistry(cfg metricsrv.Config, given prometheus.Registerer) (prometheus.Registerer, prometheus.Gatherer, error) {
	if cfg.Addr == "" {
		return given, nil, nil
	}
	if given == nil {
		r := prometheus.NewRegistry()
		_ = r.Register(collectors.NewGoCollector())
		_ = r.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		return r, r, nil
	}
	g, ok := given.(prometheus.Gatherer)
	if !ok {
		return nil, nil, fmt.Errorf("%w: metrics.addr: the edge's Registerer cannot be gathered to serve it", ErrInvalid)
	}
	return given, g, nil
}

// listenMetrics serves g on metrics.addr behind the metrics token, over
// TLS with the edge's cluster certificate; nil, nil without g.
func listenMetrics(cfg metricsrv.Config, g prometheus.Gatherer, token string, id *pki.Holder, log *slog.Logger) (*metricsrv.Server, error) {
	if g == nil {
		return nil, nil
	}
	srv, err := metricsrv.Listen(cfg.Addr, metricsrv.Handler(g, token), id.ServerConfig(nil), log)
	if err != nil {
		return nil, err
	}
	log.Info("metrics listening", "addr", srv.Addr())
	return srv, nil
}

// MetricsAddr is the bound metrics.addr, or "" when the edge serves no
// metrics.
func (e *Edge) MetricsAddr() string {
	if e.metricsSrv == nil {
		return ""
	}
	return e.metricsSrv.Addr()
}
