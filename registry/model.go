package registry

import (
	"fmt"
	"time"
)

// Objects held by the registry. Stored objects are immutable: a command that
// changes one stores a modified copy, so readers and snapshots can hold
// pointers without locks. Every object records the Raft index that created
// it and the one that last changed it.

// Meta is the bookkeeping every stored object carries.
type Meta struct {
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Quota limits what one tenant may hold at once. Zero means unlimited.
type Quota struct {
	MaxSessions   int64 `json:"max_sessions"`
	MaxGPUs       int64 `json:"max_gpus"`
	MaxEgressMbps int64 `json:"max_egress_mbps"`
}

// Tenant is a customer of the platform; every other object belongs to one.
type Tenant struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Quota  Quota             `json:"quota"`
	Labels map[string]string `json:"labels,omitempty"`
	Meta
}

// KeyScope says what an API key may do.
type KeyScope uint8

const (
	// ScopeAdmin keys manage the whole cluster.
	ScopeAdmin KeyScope = 1
	// ScopeTenant keys act within one tenant.
	ScopeTenant KeyScope = 2
	// ScopeNode keys let nodes join and follow their assignments.
	ScopeNode KeyScope = 3
)

func (s KeyScope) String() string {
	switch s {
	case ScopeAdmin:
		return "admin"
	case ScopeTenant:
		return "tenant"
	case ScopeNode:
		return "node"
	}
	return "unknown"
}

// ParseKeyScope maps a scope name to its value.
func ParseKeyScope(s string) (KeyScope, bool) {
	switch s {
	case "admin":
		return ScopeAdmin, true
	case "tenant":
		return ScopeTenant, true
	case "node":
		return ScopeNode, true
	}
	return 0, false
}

// APIKey is a bearer credential. Only a hash of its secret is stored; the
// secret is shown once, when the key is created.
type APIKey struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id,omitempty"`
	Scope     KeyScope  `json:"scope"`
	Name      string    `json:"name"`
	Hash      []byte    `json:"-"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Meta
}

// Expired reports whether the key is past its expiry at now.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// App is a session template: what to run and what it needs.
type App struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Runtime       string            `json:"runtime"`
	Command       []string          `json:"command,omitempty"`
	Image         string            `json:"image,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	GPUs          int64             `json:"gpus"`
	GPUModel      string            `json:"gpu_model,omitempty"`
	GPUMemoryMB   int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps    int64             `json:"egress_mbps"`
	IdlePolicy    string            `json:"idle_policy"`
	IdleMinutes   int64             `json:"idle_minutes,omitempty"`
	RestartPolicy string            `json:"restart_policy"`
	// CPUMillis and MemoryMB are each instance's limits; zero is none.
	CPUMillis int64 `json:"cpu_millis,omitempty"`
	MemoryMB  int64 `json:"memory_mb,omitempty"`
	// Args, ShmMB, Volume and PullPolicy are the container fields (see
	// api.ContainerFields).
	Args       []string `json:"args,omitempty"`
	ShmMB      int64    `json:"shm_mb,omitempty"`
	Volume     string   `json:"volume,omitempty"`
	PullPolicy string   `json:"pull_policy,omitempty"`
	Meta
}

// hasContainerFields reports whether any field after the limits is set.
func (a *App) hasContainerFields() bool {
	return len(a.Args) > 0 || a.ShmMB != 0 || a.Volume != "" || a.PullPolicy != ""
}

// SessionState is a step of a session's life; see transitions for the
// allowed moves.
type SessionState uint8

const (
	StatePending SessionState = iota + 1
	StatePlaced
	StateStarting
	StateRunning
	StateHibernated
	StateTerminated
	StateFailed
)

var stateNames = [...]string{"", "pending", "placed", "starting", "running", "hibernated", "terminated", "failed"}

func (s SessionState) String() string {
	if int(s) < len(stateNames) && s > 0 {
		return stateNames[s]
	}
	return "unknown"
}

// ParseSessionState maps a state name to its value.
func ParseSessionState(name string) (SessionState, bool) {
	for i, n := range stateNames {
		if i > 0 && n == name {
			return SessionState(i), true
		}
	}
	return 0, false
}

// Terminal reports whether no further transition is possible.
func (s SessionState) Terminal() bool { return s == StateTerminated || s == StateFailed }

// holdsReservation reports whether a session in this state keeps capacity.
func (s SessionState) holdsReservation() bool {
	return s == StatePlaced || s == StateStarting || s == StateRunning
}

// transitions lists, for each state, the states it may move to.
var transitions = map[SessionState][]SessionState{
	StatePending:    {StatePlaced, StateTerminated, StateFailed},
	StatePlaced:     {StateStarting, StateRunning, StatePending, StateTerminated, StateFailed},
	StateStarting:   {StateRunning, StatePending, StateTerminated, StateFailed},
	StateRunning:    {StateHibernated, StatePending, StateTerminated, StateFailed},
	StateHibernated: {StatePlaced, StatePending, StateTerminated, StateFailed},
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to SessionState) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// GPUSlice is the part of one GPU reserved for a session.
type GPUSlice struct {
	Index    int64  `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	MemoryMB int64  `json:"memory_mb"`
}

// Reservation is the capacity a placed session holds on a node.
type Reservation struct {
	NodeID     string     `json:"node_id"`
	GPUs       []GPUSlice `json:"gpus,omitempty"`
	EgressMbps int64      `json:"egress_mbps"`
}

// Session is one running (or wanted) instance of an app.
type Session struct {
	ID             string            `json:"id"`
	TenantID       string            `json:"tenant_id"`
	AppID          string            `json:"app_id"`
	State          SessionState      `json:"state"`
	Reason         string            `json:"reason,omitempty"`
	Region         string            `json:"region,omitempty"`
	Lat            float64           `json:"lat,omitempty"`
	Lon            float64           `json:"lon,omitempty"`
	HasLocation    bool              `json:"has_location"`
	Labels         map[string]string `json:"labels,omitempty"`
	GPUs           int64             `json:"gpus"`
	GPUModel       string            `json:"gpu_model,omitempty"`
	GPUMemoryMB    int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps     int64             `json:"egress_mbps"`
	Reservation    *Reservation      `json:"reservation,omitempty"`
	Placements     int64             `json:"placements"`
	StateChangedAt time.Time         `json:"state_changed_at"`
	// Source is whether the session's ingest edge has a live publisher,
	// as that edge last reported; SourceChangedAt is when it changed.
	// They are encoded after the fields above (encodeSource), which
	// snapshots and commands written before them lack.
	Source          SessionSource `json:"source,omitempty"`
	SourceChangedAt time.Time     `json:"source_changed_at,omitzero"`
	// RetryAt is when a pending session restarted after a failure may be
	// placed again (the restart backoff); zero: at once. Set by
	// SetSessionState; encoded after the source (command version 3).
	RetryAt time.Time `json:"retry_at,omitzero"`
	// VolumeNode is the edge that keeps the session's volume while it
	// hibernates (apps with a volume), which its wake prefers. The FSM
	// sets it from the reservation it releases, so no command carries
	// it in practice; it is encoded last (encodeSource).
	VolumeNode string `json:"volume_node,omitempty"`
	Meta
}

// SessionSource says whether a session's media has a publisher.
type SessionSource uint8

const (
	// SourceUnknown: no edge has reported (a session before its first
	// publisher, or one recorded before sources were tracked).
	SourceUnknown SessionSource = iota
	// SourceLive: a publisher is live on the session's ingest edge.
	SourceLive
	// SourceGone: the publisher left, or the session lost its edge.
	SourceGone
)

var sourceNames = [...]string{"", "live", "gone"}

func (s SessionSource) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// ParseSessionSource maps a reported source name to its value; the empty
// name is not a report.
func ParseSessionSource(name string) (SessionSource, bool) {
	switch name {
	case "live":
		return SourceLive, true
	case "gone":
		return SourceGone, true
	}
	return SourceUnknown, false
}

// MarshalText writes the source's name.
func (s SessionSource) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// NodeRole says what a node does.
type NodeRole uint8

const (
	RoleOrigin NodeRole = 1
	RoleEdge   NodeRole = 2
)

func (r NodeRole) String() string {
	switch r {
	case RoleOrigin:
		return "origin"
	case RoleEdge:
		return "edge"
	}
	return "unknown"
}

// NodeState is a node's membership state as the control plane sees it.
type NodeState uint8

const (
	NodeAlive NodeState = iota + 1
	NodeSuspect
	NodeDead
	NodeLeft
)

var nodeStateNames = [...]string{"", "alive", "suspect", "dead", "left"}

func (s NodeState) String() string {
	if int(s) < len(nodeStateNames) && s > 0 {
		return nodeStateNames[s]
	}
	return "unknown"
}

// GPU is one accelerator a node offers.
type GPU struct {
	Index    int64  `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	Model    string `json:"model"`
	MemoryMB int64  `json:"memory_mb"`
}

// Node is an origin or edge known to the cluster.
type Node struct {
	ID          string            `json:"id"`
	Role        NodeRole          `json:"role"`
	Region      string            `json:"region,omitempty"`
	Zone        string            `json:"zone,omitempty"`
	Lat         float64           `json:"lat,omitempty"`
	Lon         float64           `json:"lon,omitempty"`
	HasLocation bool              `json:"has_location"`
	Addrs       map[string]string `json:"addrs,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	GPUs        []GPU             `json:"gpus,omitempty"`
	NICMbps     int64             `json:"nic_mbps"`
	// Runtimes are the runtime drivers the edge offers; empty: process.
	Runtimes []string  `json:"runtimes,omitempty"`
	State    NodeState `json:"state"`
	Draining bool      `json:"draining"`
	Reason   string    `json:"reason,omitempty"`
	// ResIndex is the Raft index of the last change to the node's
	// reservations; placement decisions carry it to detect staleness.
	ResIndex uint64 `json:"reservation_index"`
	Meta
}

// SigningKey is an Ed25519 key origins use to sign viewer and publisher
// tokens. Edges verify with the public half, published as JWKS.
type SigningKey struct {
	ID        string    `json:"kid"`
	Public    []byte    `json:"-"`
	Private   []byte    `json:"-"`
	Active    bool      `json:"active"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	Meta
}

// --- encoding -------------------------------------------------------------

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(0)
		return
	}
	e.varint(t.UnixNano())
}

func (d *decoder) time() time.Time {
	n := d.varint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (m *Meta) encode(e *encoder) {
	e.time(m.CreatedAt)
	e.time(m.UpdatedAt)
	e.uvarint(m.CreateIndex)
	e.uvarint(m.ModifyIndex)
}

func (m *Meta) decode(d *decoder) {
	m.CreatedAt = d.time()
	m.UpdatedAt = d.time()
	m.CreateIndex = d.uvarint()
	m.ModifyIndex = d.uvarint()
}

func (q *Quota) encode(e *encoder) {
	e.varint(q.MaxSessions)
	e.varint(q.MaxGPUs)
	e.varint(q.MaxEgressMbps)
}

func (q *Quota) decode(d *decoder) {
	q.MaxSessions = d.varint()
	q.MaxGPUs = d.varint()
	q.MaxEgressMbps = d.varint()
}

func (t *Tenant) encode(e *encoder) {
	e.string(t.ID)
	e.string(t.Name)
	t.Quota.encode(e)
	e.stringMap(t.Labels)
	t.Meta.encode(e)
}

func (t *Tenant) decode(d *decoder) {
	t.ID = d.string()
	t.Name = d.string()
	t.Quota.decode(d)
	t.Labels = d.stringMap()
	t.Meta.decode(d)
}

func (k *APIKey) encode(e *encoder) {
	e.string(k.ID)
	e.string(k.TenantID)
	e.byte(byte(k.Scope))
	e.string(k.Name)
	e.bytes(k.Hash)
	e.time(k.ExpiresAt)
	k.Meta.encode(e)
}

func (k *APIKey) decode(d *decoder) {
	k.ID = d.string()
	k.TenantID = d.string()
	k.Scope = KeyScope(d.byte())
	k.Name = d.string()
	k.Hash = d.bytes()
	k.ExpiresAt = d.time()
	k.Meta.decode(d)
}

func (a *App) encode(e *encoder) {
	e.string(a.ID)
	e.string(a.TenantID)
	e.string(a.Name)
	e.string(a.Runtime)
	e.strings(a.Command)
	e.string(a.Image)
	e.stringMap(a.Env)
	e.varint(a.GPUs)
	e.string(a.GPUModel)
	e.varint(a.GPUMemoryMB)
	e.varint(a.EgressMbps)
	e.string(a.IdlePolicy)
	e.varint(a.IdleMinutes)
	e.string(a.RestartPolicy)
	a.Meta.encode(e)
	// The limits came later: written after Meta, and only when set, so
	// apps without them encode as before and older entries decode.
	// The container fields came later still: after the limits (written
	// then even when zero), and only when set.
	ext := a.hasContainerFields()
	if a.CPUMillis != 0 || a.MemoryMB != 0 || ext {
		e.varint(a.CPUMillis)
		e.varint(a.MemoryMB)
	}
	if ext {
		e.strings(a.Args)
		e.varint(a.ShmMB)
		e.string(a.Volume)
		e.string(a.PullPolicy)
	}
}

func (a *App) decode(d *decoder) {
	a.ID = d.string()
	a.TenantID = d.string()
	a.Name = d.string()
	a.Runtime = d.string()
	a.Command = d.strings()
	a.Image = d.string()
	a.Env = d.stringMap()
	a.GPUs = d.varint()
	a.GPUModel = d.string()
	a.GPUMemoryMB = d.varint()
	a.EgressMbps = d.varint()
	a.IdlePolicy = d.string()
	a.IdleMinutes = d.varint()
	a.RestartPolicy = d.string()
	a.Meta.decode(d)
	// An app is always the last thing in its decoder (a command's body
	// or a snapshot record), so what is left are the limits, if any.
	if d.err == nil && len(d.b) > 0 {
		a.CPUMillis = d.varint()
		a.MemoryMB = d.varint()
	}
	if d.err == nil && len(d.b) > 0 {
		a.Args = d.strings()
		a.ShmMB = d.varint()
		a.Volume = d.string()
		a.PullPolicy = d.string()
	}
}

func (r *Reservation) encode(e *encoder) {
	e.string(r.NodeID)
	e.uvarint(uint64(len(r.GPUs)))
	for _, g := range r.GPUs {
		e.varint(g.Index)
		e.string(g.UUID)
		e.varint(g.MemoryMB)
	}
	e.varint(r.EgressMbps)
}

func (r *Reservation) decode(d *decoder) {
	r.NodeID = d.string()
	if n := d.count(3); n > 0 {
		r.GPUs = make([]GPUSlice, n)
		for i := range r.GPUs {
			r.GPUs[i] = GPUSlice{Index: d.varint(), UUID: d.string(), MemoryMB: d.varint()}
		}
	}
	r.EgressMbps = d.varint()
}

// optReservation writes a presence byte before the reservation.
func (e *encoder) optReservation(r *Reservation) {
	e.bool(r != nil)
	if r != nil {
		r.encode(e)
	}
}

func (d *decoder) optReservation() *Reservation {
	if !d.bool() {
		return nil
	}
	r := &Reservation{}
	r.decode(d)
	return r
}

func (s *Session) encode(e *encoder) {
	e.string(s.ID)
	e.string(s.TenantID)
	e.string(s.AppID)
	e.byte(byte(s.State))
	e.string(s.Reason)
	e.string(s.Region)
	e.bool(s.HasLocation)
	e.float(s.Lat)
	e.float(s.Lon)
	e.stringMap(s.Labels)
	e.varint(s.GPUs)
	e.string(s.GPUModel)
	e.varint(s.GPUMemoryMB)
	e.varint(s.EgressMbps)
	e.optReservation(s.Reservation)
	e.varint(s.Placements)
	e.time(s.StateChangedAt)
	s.Meta.encode(e)
}

func (s *Session) decode(d *decoder) {
	s.ID = d.string()
	s.TenantID = d.string()
	s.AppID = d.string()
	s.State = SessionState(d.byte())
	s.Reason = d.string()
	s.Region = d.string()
	s.HasLocation = d.bool()
	s.Lat = d.float()
	s.Lon = d.float()
	s.Labels = d.stringMap()
	s.GPUs = d.varint()
	s.GPUModel = d.string()
	s.GPUMemoryMB = d.varint()
	s.EgressMbps = d.varint()
	s.Reservation = d.optReservation()
	s.Placements = d.varint()
	s.StateChangedAt = d.time()
	s.Meta.decode(d)
}

// encodeSource writes the fields added in command versions 2 (source)
// and 3 (RetryAt). VolumeNode follows them, only when set: it is always
// last in its decoder, and only the FSM sets it, so a command a node of
// an earlier version reads never has it.
func (s *Session) encodeSource(e *encoder) {
	e.byte(byte(s.Source))
	e.time(s.SourceChangedAt)
	e.time(s.RetryAt)
	if s.VolumeNode != "" {
		e.string(s.VolumeNode)
	}
}

// decodeSource reads what encodeSource wrote, as far as a command of the
// given version has it; older ones leave the source unknown and RetryAt
// zero.
func (s *Session) decodeSource(d *decoder, version uint8) {
	if version < 2 {
		return
	}
	s.Source = SessionSource(d.byte())
	s.SourceChangedAt = d.time()
	// A snapshot written before version 3 ends here.
	if version < 3 || d.err != nil || len(d.b) == 0 {
		return
	}
	s.RetryAt = d.time()
	if d.err == nil && len(d.b) > 0 {
		s.VolumeNode = d.string()
	}
}

// storedSession is a Session as a snapshot holds it: the version-1 form,
// then the fields added since, which a snapshot written before them lacks
// (each object is length-prefixed, so a short one decodes with zeros).
type storedSession Session

func (s *storedSession) encode(e *encoder) {
	(*Session)(s).encode(e)
	(*Session)(s).encodeSource(e)
}

func (s *storedSession) decode(d *decoder) {
	(*Session)(s).decode(d)
	if d.err == nil && len(d.b) > 0 {
		(*Session)(s).decodeSource(d, 3)
	}
}

func (n *Node) encode(e *encoder) {
	e.string(n.ID)
	e.byte(byte(n.Role))
	e.string(n.Region)
	e.string(n.Zone)
	e.bool(n.HasLocation)
	e.float(n.Lat)
	e.float(n.Lon)
	e.stringMap(n.Addrs)
	e.stringMap(n.Labels)
	e.uvarint(uint64(len(n.GPUs)))
	for _, g := range n.GPUs {
		e.varint(g.Index)
		e.string(g.UUID)
		e.string(g.Model)
		e.varint(g.MemoryMB)
	}
	e.varint(n.NICMbps)
	e.byte(byte(n.State))
	e.bool(n.Draining)
	e.string(n.Reason)
	e.uvarint(n.ResIndex)
	n.Meta.encode(e)
	// Runtimes came later: after Meta and only when set, so older
	// entries decode (a node is the last thing in its decoder).
	if len(n.Runtimes) > 0 {
		e.strings(n.Runtimes)
	}
}

func (n *Node) decode(d *decoder) {
	n.ID = d.string()
	n.Role = NodeRole(d.byte())
	n.Region = d.string()
	n.Zone = d.string()
	n.HasLocation = d.bool()
	n.Lat = d.float()
	n.Lon = d.float()
	n.Addrs = d.stringMap()
	n.Labels = d.stringMap()
	if c := d.count(4); c > 0 {
		n.GPUs = make([]GPU, c)
		for i := range n.GPUs {
			n.GPUs[i] = GPU{Index: d.varint(), UUID: d.string(), Model: d.string(), MemoryMB: d.varint()}
		}
	}
	n.NICMbps = d.varint()
	n.State = NodeState(d.byte())
	n.Draining = d.bool()
	n.Reason = d.string()
	n.ResIndex = d.uvarint()
	n.Meta.decode(d)
	if d.err == nil && len(d.b) > 0 {
		n.Runtimes = d.strings()
	}
}

func (k *SigningKey) encode(e *encoder) {
	e.string(k.ID)
	e.bytes(k.Public)
	e.bytes(k.Private)
	e.bool(k.Active)
	e.time(k.RetiredAt)
	k.Meta.encode(e)
}

func (k *SigningKey) decode(d *decoder) {
	k.ID = d.string()
	k.Public = d.bytes()
	k.Private = d.bytes()
	k.Active = d.bool()
	k.RetiredAt = d.time()
	k.Meta.decode(d)
}

// Enums travel as their names in JSON.

func (s KeyScope) MarshalText() ([]byte, error)     { return []byte(s.String()), nil }
func (s SessionState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (r NodeRole) MarshalText() ([]byte, error)     { return []byte(r.String()), nil }
func (s NodeState) MarshalText() ([]byte, error)    { return []byte(s.String()), nil }
