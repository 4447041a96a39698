package origin

import (
	"crypto/tls"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/strata-edge/strata/internal/metricsrv"
)

type apiMetrics struct {
	latency      *prometheus.HistogramVec
	forwarded    prometheus.Counter
	authFailures *prometheus.CounterVec
}

func newAPIMetrics(reg prometheus.Registerer) (*apiMetrics, error) {
	m := &apiMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_api_request_duration_seconds",
			Help:    "REST API latency by route, method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}, []string{"route", "method", "code"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_api_forwarded_requests_total",
			Help: "Requests this origin forwarded to the Raft leader.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_api_auth_failures_total",
			Help: "Requests whose credentials failed on this origin, by outcome: refused (401 here), forwarded (an unknown key the leader refused too), limited (429: too many failures from the address).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.forwarded, m.authFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *apiMetrics) observe(route, method string, code int, d time.Duration) {
	m.latency.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// newPromRegistry is a per-origin registry with the Go and process
// collectors, so several origins can live in one process.
func newPromRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	_ = r.Register(collectors.NewGoCollector())
	_ = r.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// metricsHandler serves /metrics on the API listener (when metrics.addr
// is empty), behind the metrics token when one is set.
func (o *Origin) metricsHandler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(metricsrv.Handler(o.prom, o.metricsToken))
}

// listenMetrics serves /metrics on metrics.addr, when set, instead of the
// API listener: scrapes can then stay on a private network. Like the API
// it serves the node's certificate (plain HTTP only with pki.disable).
func (o *Origin) listenMetrics() error {
	if o.cfg.Metrics.Addr == "" {
		return nil
	}
	var tlsCfg *tls.Config
	if o.node != nil {
		tlsCfg = o.node.ServerConfig(nil)
	}
	srv, err := metricsrv.Listen(o.cfg.Metrics.Addr, metricsrv.Handler(o.prom, o.metricsToken), tlsCfg, o.log)
	if err != nil {
		return err
	}
	o.metricsSrv = srv
	o.log.Info("metrics listening", "addr", srv.Addr())
	return nil
}

// metricsAdvertise is the /metrics address other nodes and Prometheus
// dial, recorded in the registry as addrs.metrics.
func (o *Origin) metricsAdvertise() string {
	if o.metricsSrv == nil {
		return o.apiAddr
	}
	return metricsrv.AdvertiseAddr("", o.metricsSrv.Addr(), o.apiAddr)
}

// MetricsAddr is where /metrics is served: metrics.addr's bound address,
// or the API address.
func (o *Origin) MetricsAddr() string {
	if o.metricsSrv != nil {
		return o.metricsSrv.Addr()
	}
	return o.apiAddr
}
