package gpu

import "errors"

// Sentinel errors; callers match them with errors.Is. Returned errors wrap
// them with the detail (file, line, field) that explains the failure.
var (
	// ErrNoNvidiaSMI means the nvidia-smi binary is not installed, so the
	// host is treated as having no GPUs.
	ErrNoNvidiaSMI = errors.New("gpu: nvidia-smi not found")
	// ErrNvidiaSMIFailed means nvidia-smi ran but failed (driver not loaded,
	// no devices, timeout).
	ErrNvidiaSMIFailed = errors.New("gpu: nvidia-smi failed")
	// ErrParseCSV means nvidia-smi output did not have the expected shape.
	ErrParseCSV = errors.New("gpu: cannot parse nvidia-smi csv")
	// ErrBadSpec means a discovery spec (auto|none|fake:SPEC) is invalid.
	ErrBadSpec = errors.New("gpu: bad discovery spec")
	// ErrNICSpeedUnknown means the NIC capacity is neither configured nor
	// readable from sysfs (virtual NICs often report -1).
	ErrNICSpeedUnknown = errors.New("gpu: nic speed unknown")
	// ErrNoDefaultRoute means no interface carries the default route, so
	// the NIC to measure cannot be chosen automatically.
	ErrNoDefaultRoute = errors.New("gpu: no default route")
)
