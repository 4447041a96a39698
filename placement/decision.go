package placement

// RTTSource says which model produced an RTT estimate, weakest last.
type RTTSource uint8

// RTT sources.
const (
	RTTUnknown RTTSource = iota // nothing to compare: UnknownRTTMs
	RTTRegion                   // region names only
	RTTGeo                      // great-circle distance
	RTTVivaldi                  // both ends have Vivaldi coordinates
)

// String returns the stable name of the source.
func (s RTTSource) String() string {
	switch s {
	case RTTRegion:
		return "region"
	case RTTGeo:
		return "geo"
	case RTTVivaldi:
		return "vivaldi"
	default:
		return "unknown"
	}
}

// MarshalText encodes the source as its stable name.
func (s RTTSource) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Score is a node's score breakdown. Nodes are ranked by RTTBucket
// (ascending), then Within (descending), then node ID (ascending). Total
// folds the first two into one number, higher is better, for display.
type Score struct {
	RTTMs     float64   `json:"rtt_ms"`
	RTTSource RTTSource `json:"rtt_source"`
	// RTTBucket is floor(RTTMs / RTTBucketMs) (for geographic estimates the
	// same boundaries expressed as great-circle angles), less
	// RelayBonusMs/RTTBucketMs for viewer routing to an edge already relaying
	// the session.
	RTTBucket int `json:"rtt_bucket"`
	// GPUFree and NICFree are the fractions of the node's GPU memory and NIC
	// left free after this placement (GPUFree is 1 when no GPU is asked).
	GPUFree float64 `json:"gpu_free"`
	NICFree float64 `json:"nic_free"`
	// Headroom is min(GPUFree, NICFree): the scarcer resource.
	Headroom float64 `json:"headroom"`
	// Balance is 1 − |GPUFree − NICFree|: high when the node's resources
	// drain evenly, so neither is stranded.
	Balance float64 `json:"balance"`
	// Policy is Headroom under spread, 1 − Headroom under pack.
	Policy float64 `json:"policy"`
	// Within = PolicyWeight·Policy + (1−PolicyWeight)·Balance, in [0, 1].
	Within float64 `json:"within"`
	// Total = Within − 2·RTTBucket.
	Total float64 `json:"total"`
}

// GPUSlice is the part of one GPU a decision reserves.
type GPUSlice struct {
	Index    int    `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	MemoryMB int64  `json:"memory_mb"`
	// Exclusive is true when the slice is the whole GPU.
	Exclusive bool `json:"exclusive"`
}

// Reservation is what a placed session holds on its node. The registry
// stores it with the session; Snapshot.Apply adds it and Snapshot.Release
// removes it.
type Reservation struct {
	Tenant     string     `json:"tenant"`
	NodeID     string     `json:"node"`
	GPUs       []GPUSlice `json:"gpus,omitempty"`
	EgressMbps int64      `json:"egress_mbps"`
}

// Decision is Place's answer.
type Decision struct {
	NodeID      string      `json:"node"`
	Reservation Reservation `json:"reservation"`
	// Score is Explanation.Winner.Total.
	Score float64 `json:"score"`
	// Revision is the node's Revision the decision was computed on; the FSM
	// applies the decision only if the node is still at this revision.
	Revision    uint64      `json:"revision"`
	Explanation Explanation `json:"explanation"`
}
