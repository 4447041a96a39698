package api

// Bounds the origins enforce on numeric input; a value past one is
// refused with 400 invalid_argument naming the key. They keep every sum
// the control plane makes (tenant usage, node reservations) far from
// int64 overflow, and are documented as maximum in the OpenAPI spec.
const (
	// MaxGPUs bounds the GPUs of an app, a session and a node.
	MaxGPUs = 64
	// MaxGPUMemoryMB bounds GPU memory in MiB: an app's or session's
	// need, and one GPU's memory when a node registers (1 TiB).
	MaxGPUMemoryMB = 1 << 20
	// MaxEgressMbps bounds an app's or session's expected egress
	// (1 Tbit/s).
	MaxEgressMbps = 1_000_000
	// MaxNICMbps bounds a node's NIC capacity (10 Tbit/s).
	MaxNICMbps = 10_000_000
	// MaxCPUMillis bounds an app's CPU limit (1024 CPUs); a limit
	// below MinCPUMillis (a hundredth of a CPU) is refused, being under
	// the smallest CFS quota.
	MaxCPUMillis = 1024 * 1000
	MinCPUMillis = 10
	// MaxMemoryMB bounds an app's memory limit in MiB (16 TiB).
	MaxMemoryMB = 1 << 24
	// MaxShmMB bounds an app's /dev/shm size in MiB (1 TiB).
	MaxShmMB = 1 << 20
	// MaxIdleMinutes bounds an app's idle_minutes (30 days).
	MaxIdleMinutes = 30 * 24 * 60
	// MaxIdleSeconds bounds an edge's idle report (one year).
	MaxIdleSeconds = 365 * 24 * 3600
	// MaxQuotaSessions bounds a tenant's session quota.
	MaxQuotaSessions = 1_000_000
	// MaxQuotaGPUs bounds a tenant's GPU quota.
	MaxQuotaGPUs = 1_000_000
	// MaxQuotaEgressMbps bounds a tenant's egress quota (1 Pbit/s).
	MaxQuotaEgressMbps = 1_000_000_000
	// MaxListLimit bounds a list page; DefaultListLimit is used when a
	// list names none.
	MaxListLimit     = 1000
	DefaultListLimit = 100
	// MaxJoinTokenTTLSeconds bounds a join token's life (30 days);
	// MaxJoinTokenUses bounds how many nodes one token enrolls.
	MaxJoinTokenTTLSeconds = 30 * 24 * 3600
	MaxJoinTokenUses       = 10000
	// MaxURIBytes bounds a request's path and query: every route's fits
	// in far less. A longer one gets 414 uri_too_long; a request line
	// and headers past MaxHeaderBytes get 431 request_too_large.
	MaxURIBytes    = 4096
	MaxHeaderBytes = 16 << 10
	// MaxViewerTTLSeconds bounds (and is the default of) a viewer
	// token's life: a playback URL is short-lived; players get a new
	// token when it expires.
	MaxViewerTTLSeconds = 15 * 60
)
