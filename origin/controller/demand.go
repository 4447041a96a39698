package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/registry"
)

// Demand is a Prometheus collector of sessions per region and class
// (GPU model, or "" for none), read from the registry at scrape time on
// every origin: what the autoscaler's default queries read.
type Demand struct{ src StateReader }

var _ prometheus.Collector = (*Demand)(nil)

// NewDemand returns the demand collector over the registry src.
func NewDemand(src StateReader) *Demand { return &Demand{src: src} }

var (
	descRegionPending  = prometheus.NewDesc("strata_placement_region_pending_sessions", "Sessions waiting for capacity, by the region and GPU model they asked for.", []string{"region", "class"}, nil)
	descRegionSessions = prometheus.NewDesc("strata_placement_region_sessions", "Sessions holding a reservation on a region's edges, by the edges' GPU model.", []string{"region", "class"}, nil)
)

// Describe sends the series' descriptions.
func (c *Demand) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRegionPending
	ch <- descRegionSessions
}

// Collect sends one series per region and class with edges or pending
// sessions; a region with alive edges always has its sessions series,
// zero or not, so an empty answer means the origins are not scraped.
func (c *Demand) Collect(ch chan<- prometheus.Metric) {
	type key struct{ region, class string }
	placed := map[key]float64{}
	pendingBy := map[key]float64{}
	st := c.src.State()
	for _, n := range st.Nodes() {
		if n.Role != registry.RoleEdge || n.State != registry.NodeAlive {
			continue
		}
		placed[key{n.Region, NodeClass(n)}] += float64(st.NodeUsage(n.ID).Sessions)
	}
	pending, _, _ := st.PendingSessions(0)
	for _, s := range pending {
		pendingBy[key{s.Region, s.GPUModel}]++
	}
	for k := range placed {
		if _, ok := pendingBy[k]; !ok {
			pendingBy[k] = 0
		}
	}
	for k, v := range placed {
		ch <- prometheus.MustNewConstMetric(descRegionSessions, prometheus.GaugeValue, v, k.region, k.class)
	}
	for k, v := range pendingBy {
		ch <- prometheus.MustNewConstMetric(descRegionPending, prometheus.GaugeValue, v, k.region, k.class)
	}
}
