package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// Capacity is a Prometheus collector of reserved against total capacity
// per edge and per region, read from the registry at scrape time, so
// every origin reports it.
type Capacity struct{ src StateReader }

var _ prometheus.Collector = (*Capacity)(nil)

// NewCapacity returns the capacity collector over the registry src.
func NewCapacity(src StateReader) *Capacity { return &Capacity{src: src} }

var (
	descCapEgress = prometheus.NewDesc("strata_placement_capacity_egress_bytes_per_second", "NIC egress capacity of an edge, in bytes per second.", []string{"node", "region"}, nil)
	descResEgress = prometheus.NewDesc("strata_placement_reserved_egress_bytes_per_second", "Egress reserved by placed sessions on an edge, in bytes per second.", []string{"node", "region"}, nil)
	descCapGPU    = prometheus.NewDesc("strata_placement_capacity_gpu_memory_bytes", "GPU memory of an edge.", []string{"node", "region"}, nil)
	descResGPU    = prometheus.NewDesc("strata_placement_reserved_gpu_memory_bytes", "GPU memory reserved by placed sessions on an edge.", []string{"node", "region"}, nil)

	// Region totals over alive, non-draining edges: what placement can
	// still use there, unlike a sum of the per-edge series.
	descRegionCapEgress = prometheus.NewDesc("strata_placement_region_capacity_egress_bytes_per_second", "NIC egress capacity of a region's placeable (alive, not draining) edges, in bytes per second.", []string{"region"}, nil)
	descRegionResEgress = prometheus.NewDesc("strata_placement_region_reserved_egress_bytes_per_second", "Egress reserved on a region's placeable edges, in bytes per second.", []string{"region"}, nil)
	descRegionCapGPU    = prometheus.NewDesc("strata_placement_region_capacity_gpu_memory_bytes", "GPU memory of a region's placeable edges.", []string{"region"}, nil)
	descRegionResGPU    = prometheus.NewDesc("strata_placement_region_reserved_gpu_memory_bytes", "GPU memory reserved on a region's placeable edges.", []string{"region"}, nil)
)

// Describe sends every series' description.
func (c *Capacity) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCapEgress, descResEgress, descCapGPU, descResGPU,
		descRegionCapEgress, descRegionResEgress, descRegionCapGPU, descRegionResGPU} {
		ch <- d
	}
}

// Base units for the exported series: the registry counts NIC and egress
// in Mbit/s and GPU memory in MiB, Prometheus wants bytes and seconds.
const (
	bytesPerSecPerMbps = 1e6 / 8
	bytesPerMiB        = 1 << 20
)

// Collect reads the registry once and sends the per-edge and per-region
// series. Sums saturate rather than wrap.
func (c *Capacity) Collect(ch chan<- prometheus.Metric) {
	type totals struct{ capEgress, resEgress, capGPU, resGPU int64 }
	regions := map[string]*totals{}
	add := placement.AddUsage
	c.src.State().View(func(v *registry.View) {
		v.Nodes(func(n *registry.Node, use *registry.NodeUsage) {
			if n.Role != registry.RoleEdge {
				return
			}
			var capGPU, resGPU, resEgress int64
			for _, g := range n.GPUs {
				capGPU = add(capGPU, g.MemoryMB)
			}
			if use != nil {
				resEgress = use.EgressMbps
				for _, mb := range use.GPUMemoryMB {
					resGPU = add(resGPU, mb)
				}
			}
			ch <- prometheus.MustNewConstMetric(descCapEgress, prometheus.GaugeValue, float64(n.NICMbps)*bytesPerSecPerMbps, n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descResEgress, prometheus.GaugeValue, float64(resEgress)*bytesPerSecPerMbps, n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descCapGPU, prometheus.GaugeValue, float64(capGPU)*bytesPerMiB, n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descResGPU, prometheus.GaugeValue, float64(resGPU)*bytesPerMiB, n.ID, n.Region)
			if n.State != registry.NodeAlive || n.Draining {
				return
			}
			r := regions[n.Region]
			if r == nil {
				r = &totals{}
				regions[n.Region] = r
			}
			r.capEgress = add(r.capEgress, n.NICMbps)
			r.resEgress = add(r.resEgress, resEgress)
			r.capGPU = add(r.capGPU, capGPU)
			r.resGPU = add(r.resGPU, resGPU)
		})
	})
	for region, r := range regions {
		ch <- prometheus.MustNewConstMetric(descRegionCapEgress, prometheus.GaugeValue, float64(r.capEgress)*bytesPerSecPerMbps, region)
		ch <- prometheus.MustNewConstMetric(descRegionResEgress, prometheus.GaugeValue, float64(r.resEgress)*bytesPerSecPerMbps, region)
		ch <- prometheus.MustNewConstMetric(descRegionCapGPU, prometheus.GaugeValue, float64(r.capGPU)*bytesPerMiB, region)
		ch <- prometheus.MustNewConstMetric(descRegionResGPU, prometheus.GaugeValue, float64(r.resGPU)*bytesPerMiB, region)
	}
}
