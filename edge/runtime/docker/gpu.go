package docker

import (
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/strata-edge/strata/edge/runtime"
)

// gpuMode is how reserved GPUs are handed to a container.
type gpuMode uint8

const (
	// gpuCDIDevices names CDI devices in Devices, which Podman honours
	// (it ignores DeviceRequests).
	gpuCDIDevices gpuMode = iota
	// gpuCDIRequests asks Docker's CDI device driver for them.
	gpuCDIRequests
	// gpuNVIDIA asks the NVIDIA container runtime for them, the fallback
	// on engines without CDI.
	gpuNVIDIA
)

// cdiName is the CDI device name of the GPU at a host index, as the
// NVIDIA Container Toolkit's generated spec names it.
func cdiName(g runtime.GPU) string { return "nvidia.com/gpu=" + strconv.Itoa(g.Index) }

// gpuResources gives the container exactly gpus, the session's
// reservation, and nothing when it has none.
func gpuResources(r *container.Resources, gpus []runtime.GPU, mode gpuMode) {
	if len(gpus) == 0 {
		return
	}
	switch mode {
	case gpuCDIDevices:
		for _, g := range gpus {
			r.Devices = append(r.Devices, container.DeviceMapping{PathOnHost: cdiName(g), CgroupPermissions: "rwm"})
		}
	case gpuCDIRequests:
		ids := make([]string, len(gpus))
		for i, g := range gpus {
			ids[i] = cdiName(g)
		}
		r.DeviceRequests = append(r.DeviceRequests, container.DeviceRequest{Driver: "cdi", DeviceIDs: ids})
	default:
		ids := make([]string, len(gpus))
		for i, g := range gpus {
			ids[i] = g.UUID
			if ids[i] == "" {
				ids[i] = strconv.Itoa(g.Index)
			}
		}
		r.DeviceRequests = append(r.DeviceRequests, container.DeviceRequest{Driver: "nvidia", DeviceIDs: ids, Capabilities: [][]string{{"gpu"}}})
	}
}
