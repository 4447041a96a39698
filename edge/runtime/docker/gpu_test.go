package docker

import (
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/strata-edge/strata/edge/runtime"
)

// Reserved GPUs reach a container as CDI names (in Devices for Podman,
// through Docker's cdi driver otherwise) or, without CDI, as an NVIDIA
// DeviceRequest for exactly those GPUs; none are asked for without a
// reservation.
func TestGPUResources(t *testing.T) {
	gpus := []runtime.GPU{{Index: 1, UUID: "GPU-aaa"}, {Index: 3}}
	var r container.Resources
	gpuResources(&r, gpus, gpuCDIDevices)
	if len(r.Devices) != 2 || r.Devices[0].PathOnHost != "nvidia.com/gpu=1" || r.Devices[1].PathOnHost != "nvidia.com/gpu=3" || len(r.DeviceRequests) != 0 {
		t.Errorf("cdi devices: %+v %+v", r.Devices, r.DeviceRequests)
	}
	r = container.Resources{}
	gpuResources(&r, gpus, gpuCDIRequests)
	if len(r.DeviceRequests) != 1 || r.DeviceRequests[0].Driver != "cdi" || !slices.Equal(r.DeviceRequests[0].DeviceIDs, []string{"nvidia.com/gpu=1", "nvidia.com/gpu=3"}) {
		t.Errorf("cdi requests: %+v", r.DeviceRequests)
	}
	r = container.Resources{}
	gpuResources(&r, gpus, gpuNVIDIA)
	if len(r.DeviceRequests) != 1 || r.DeviceRequests[0].Driver != "nvidia" || !slices.Equal(r.DeviceRequests[0].DeviceIDs, []string{"GPU-aaa", "3"}) ||
		len(r.DeviceRequests[0].Capabilities) != 1 || r.DeviceRequests[0].Capabilities[0][0] != "gpu" {
		t.Errorf("nvidia requests: %+v", r.DeviceRequests)
	}
	r = container.Resources{}
	gpuResources(&r, nil, gpuNVIDIA)
	if len(r.Devices)+len(r.DeviceRequests) != 0 {
		t.Errorf("no GPUs reserved, yet %+v %+v", r.Devices, r.DeviceRequests)
	}
}

// Inside a container the reserved GPUs are numbered from 0; the NVIDIA
// capabilities include video (NVENC) and graphics unless the app sets
// them; a session without GPUs sees none.
func TestContainerEnv(t *testing.T) {
	s := runtime.Spec{SessionID: "s", GPUs: []runtime.GPU{{Index: 2}, {Index: 5}}}
	env := s.ContainerEnv()
	if env[runtime.EnvCUDADevices] != "0,1" || env[runtime.EnvNVDevices] != "2,5" {
		t.Errorf("CUDA %q, NVIDIA %q", env[runtime.EnvCUDADevices], env[runtime.EnvNVDevices])
	}
	if c := env[runtime.EnvNVCapabilities]; c != "compute,utility,video,graphics,display" {
		t.Errorf("capabilities %q", c)
	}
	s.Env = map[string]string{runtime.EnvNVCapabilities: "all"}
	if c := s.ContainerEnv()[runtime.EnvNVCapabilities]; c != "all" {
		t.Errorf("app's capabilities overridden: %q", c)
	}
	none := runtime.Spec{SessionID: "s"}.ContainerEnv()
	if none[runtime.EnvCUDADevices] != "" || none[runtime.EnvNVDevices] != "void" {
		t.Errorf("no GPUs: CUDA %q, NVIDIA %q", none[runtime.EnvCUDADevices], none[runtime.EnvNVDevices])
	}
}
