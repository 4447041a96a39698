package controller

import (
	"errors"
	"fmt"
	"strings"

	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// maxWaitingReason bounds a pending session's reason.
const maxWaitingReason = 512

// waitingReason says why a session waits for capacity and what would let
// it be placed: the engine's counts, then a hint per filter that turned
// edges away, in the engine's order.
func waitingReason(s *registry.Session, err error) string {
	reason := "waiting for capacity: " + err.Error()
	var nce *placement.NoCapacityError
	switch {
	case errors.As(err, &nce):
		if h := capacityHints(s, &nce.Explanation); h != "" {
			reason += "; " + h
		}
	case errors.Is(err, placement.ErrQuotaExceeded):
		reason += "; end some of the tenant's sessions or raise its quota"
	}
	return truncate(reason, maxWaitingReason)
}

// capacityHints turns an explanation's counts into what to change.
func capacityHints(s *registry.Session, ex *placement.Explanation) string {
	if ex.Considered == 0 {
		return "no edge has joined the cluster: start one (strata edge --join ORIGIN_API ...)"
	}
	edges := func(n int) string {
		if n == 1 {
			return "1 edge"
		}
		return fmt.Sprintf("%d edges", n)
	}
	var hints []string
	for f := placement.FilterNotAlive; f < placement.NumFilters; f++ {
		n := ex.Rejected[f]
		if n == 0 {
			continue
		}
		var h string
		switch f {
		case placement.FilterNotAlive:
			h = edges(n) + " not alive (strata nodes list)"
		case placement.FilterDraining:
			h = edges(n) + " draining"
		case placement.FilterRegion:
			h = fmt.Sprintf("%s outside region %s: start an edge there or create the session without --region", edges(n), s.Region)
		case placement.FilterLabels:
			h = edges(n) + " without the session's labels"
		case placement.FilterNICHeadroom:
			h = fmt.Sprintf("%s without %d Mbit/s of egress free: raise the edge's --nic-mbps or lower the app's --egress-mbps", edges(n), s.EgressMbps)
		case placement.FilterGPUModel:
			h = fmt.Sprintf("%s without a %s GPU", edges(n), s.GPUModel)
		case placement.FilterGPUCount:
			h = fmt.Sprintf("%s without %d free GPU(s): end sessions, or start an edge with GPUs "+
				"(--gpus auto where nvidia-smi works; --gpus fake:%dxL4:24GB to try without one)", edges(n), s.GPUs, max(s.GPUs, 1))
		case placement.FilterGPUMemory:
			h = fmt.Sprintf("%s without %d MB free on enough GPUs: lower the app's --gpu-memory-mb or add GPUs", edges(n), s.GPUMemoryMB)
		case placement.FilterQuota:
			h = "the tenant's quota is used up: end some of its sessions or raise its quota"
		default:
			h = fmt.Sprintf("%s rejected by %s", edges(n), f)
		}
		hints = append(hints, h)
	}
	return strings.Join(hints, "; ")
}
