package origin

import (
	"net/http"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/registry"
)

// prometheusTargets answers Prometheus' HTTP service discovery: one target
// group per alive node that registered a metrics address, so a single
// scrape job (with the cluster CA and, if set, the metrics token) finds
// every origin and edge. Read from this origin's registry: any origin
// answers, and Prometheus may list several as fallbacks.
func (o *Origin) prometheusTargets(*call) (int, any, error) {
	scheme := "https"
	if o.node == nil {
		scheme = "http" // pki.disable: origins serve plain HTTP
	}
	out := []api.PrometheusTargetGroup{}
	for _, n := range o.reg.State().Nodes() {
		addr := n.Addrs["metrics"]
		if n.State != registry.NodeAlive || addr == "" {
			continue
		}
		nodeScheme := scheme
		if n.Role == registry.RoleEdge {
			nodeScheme = "https" // edges always hold a cluster certificate
		}
		out = append(out, api.PrometheusTargetGroup{
			Targets: []string{addr},
			Labels: map[string]string{
				"__scheme__": nodeScheme, "__metrics_path__": "/metrics",
				"role": n.Role.String(), "region": n.Region, "node": n.ID,
			},
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Labels["node"] < out[j].Labels["node"] })
	return http.StatusOK, out, nil
}

// metricsTokenPresented reports whether the request carries the metrics
// token, which admits it to the service discovery route: Prometheus
// already holds that token to scrape, and needs no API key.
func (o *Origin) metricsTokenPresented(ctx *fasthttp.RequestCtx) bool {
	return metricsrv.Authorized(string(ctx.Request.Header.Peek("Authorization")), o.metricsToken)
}
