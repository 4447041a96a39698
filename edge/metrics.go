package edge

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/strata-edge/strata/internal/metricsrv"
)

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
// TLS with the edge's cluster certificate.
func (e *Edge) listenMetrics(g prometheus.Gatherer, token string) error {
	if g == nil {
		return nil
	}
	srv, err := metricsrv.Listen(e.cfg.Metrics.Addr, metricsrv.Handler(g, token), e.id.ServerConfig(nil), e.log)
	if err != nil {
		return err
	}
	e.metricsSrv = srv
	e.log.Info("metrics listening", "addr", srv.Addr())
	return nil
}

// MetricsAddr is the bound metrics.addr, or "" when the edge serves no
// metrics.
func (e *Edge) MetricsAddr() string {
	if e.metricsSrv == nil {
		return ""
	}
	return e.metricsSrv.Addr()
}
