package registry

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// ApplyResult is what the FSM returns to the proposer of a command.
type ApplyResult struct {
	Value any
	Err   error
}

// fsm applies committed log entries to the State.
type fsm struct {
	state *State
	// observe records how long one batch of applies took, per entry.
	observe func(d time.Duration, n int)
}

var _ raft.BatchingFSM = (*fsm)(nil)

func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies a batch under one lock and wakes watchers once.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	out := make([]any, len(logs))
	s := f.state
	s.mu.Lock()
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			out[i] = applyEntry(s, l.Data, l.Index)
		}
		if l.Index > s.index {
			s.index = l.Index
		}
	}
	s.notify()
	s.mu.Unlock()
	if f.observe != nil {
		f.observe(time.Since(start), len(logs))
	}
	return out
}

// Memory is a registry without Raft or a log: each command is encoded,
// then applied by the same FSM at the next index, one at a time. Leader
// controllers are unit-tested against it, fast and deterministic, with the
// FSM's real checks.
type Memory struct {
	mu sync.Mutex // serialises applies, as the Raft log does
	f  fsm
}

// NewMemory returns an empty in-memory registry.
func NewMemory() *Memory { return &Memory{f: fsm{state: NewState()}} }

// State is the applied data, read as on a Raft member.
func (m *Memory) State() *State { return m.f.state }

// Apply applies c at the next index and returns the FSM's result.
func (m *Memory) Apply(ctx context.Context, c Command) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.f.state.Check(c); err != nil {
		return nil, err // refused before the log, as Registry.Apply does
	}
	l := &raft.Log{Type: raft.LogCommand, Index: m.f.state.Index() + 1, Data: EncodeCommand(c)}
	res := m.f.ApplyBatch([]*raft.Log{l})[0].(ApplyResult)
	return res.Value, res.Err
}

func applyEntry(s *State, data []byte, idx uint64) ApplyResult {
	c, err := DecodeCommand(data)
	if err != nil {
		return ApplyResult{Err: err}
	}
	v, err := c.apply(s, idx)
	return ApplyResult{Value: v, Err: err}
}

// Snapshot captures the tables; the objects are immutable, so copying the
// maps is enough and the FSM is blocked only for that copy.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.state.mu.RLock()
	defer f.state.mu.RUnlock()
	return &snapshot{data: f.state.data.clone(), index: f.state.index}, nil
}

// Restore replaces the state with a snapshot.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	t, idx, err := readSnapshot(bufio.NewReader(rc))
	if err != nil {
		return err
	}
	s := f.state
	s.mu.Lock()
	s.reset(t, idx)
	s.notify()
	s.mu.Unlock()
	return nil
}

type snapshot struct {
	data  tables
	index uint64
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 64<<10)
	if err := writeSnapshot(w, &s.data, s.index); err != nil {
		sink.Cancel()
		return err
	}
	if err := w.Flush(); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}

// Snapshot format: magic, format version, applied index, then each table as
// a count followed by length-prefixed objects sorted by ID, so equal states
// give equal bytes.
var snapshotMagic = []byte("STRATA-REGISTRY\x00")

// Version 2 added the cluster CA and join tokens after the
// signing keys; a version 1 snapshot has neither. Version 3 added the
// autoscaler's decisions after the join tokens.
const snapshotVersion = 3

// encodable is any stored object.
type encodable interface{ encode(e *encoder) }

func writeSnapshot(w io.Writer, t *tables, index uint64) error {
	e := encoder{b: make([]byte, 0, 4096)}
	e.b = append(e.b, snapshotMagic...)
	e.uvarint(snapshotVersion)
	e.uvarint(index)
	flush := func() error {
		_, err := w.Write(e.b)
		e.b = e.b[:0]
		return err
	}
	var obj encoder
	section := func(n int, each func(yield func(encodable))) error {
		e.uvarint(uint64(n))
		var err error
		each(func(v encodable) {
			if err != nil {
				return
			}
			obj.b = obj.b[:0]
			v.encode(&obj)
			e.bytes(obj.b)
			if len(e.b) > 32<<10 {
				err = flush()
			}
		})
		return err
	}
	sections := []error{
		section(len(t.tenants), eachSorted(t.tenants)),
		section(len(t.keys), eachSorted(t.keys)),
		section(len(t.apps), eachSorted(t.apps)),
		section(len(t.sessions), eachStoredSession(t.sessions)),
		section(len(t.nodes), eachSorted(t.nodes)),
		section(len(t.signingKeys), eachSorted(t.signingKeys)),
		section(len(t.cas), eachSorted(t.cas)),
		section(len(t.joinTokens), eachSorted(t.joinTokens)),
		section(len(t.scaleDecisions), eachSorted(t.scaleDecisions)),
	}
	for _, err := range sections {
		if err != nil {
			return err
		}
	}
	return flush()
}

// eachSorted visits a table's objects in ID order.
func eachSorted[V any, P interface {
	*V
	encodable
}](m map[string]*V) func(yield func(encodable)) {
	return func(yield func(encodable)) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			yield(P(m[k]))
		}
	}
}

// eachStoredSession visits the sessions in ID order in their snapshot form.
func eachStoredSession(m map[string]*Session) func(yield func(encodable)) {
	return func(yield func(encodable)) {
		eachSorted(m)(func(v encodable) { yield((*storedSession)(v.(*Session))) })
	}
}

func readSnapshot(r io.Reader) (tables, uint64, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return tables{}, 0, fmt.Errorf("read snapshot: %w", err)
	}
	if !bytes.HasPrefix(raw, snapshotMagic) {
		return tables{}, 0, fmt.Errorf("%w: not a registry snapshot", ErrCorrupt)
	}
	d := decoder{b: raw[len(snapshotMagic):]}
	v := d.uvarint()
	if v == 0 || v > snapshotVersion {
		return tables{}, 0, fmt.Errorf("%w: snapshot version %d", ErrCorrupt, v)
	}
	index := d.uvarint()
	t := newTables()
	readSection(&d, t.tenants, func(o *Tenant) string { return o.ID })
	readSection(&d, t.keys, func(o *APIKey) string { return o.ID })
	readSection(&d, t.apps, func(o *App) string { return o.ID })
	sessions := map[string]*storedSession{}
	readSection(&d, sessions, func(o *storedSession) string { return o.ID })
	for id, s := range sessions {
		t.sessions[id] = (*Session)(s)
	}
	readSection(&d, t.nodes, func(o *Node) string { return o.ID })
	readSection(&d, t.signingKeys, func(o *SigningKey) string { return o.ID })
	if v >= 2 {
		readSection(&d, t.cas, func(o *ClusterCA) string { return o.ID })
		readSection(&d, t.joinTokens, func(o *JoinToken) string { return o.ID })
	}
	if v >= 3 {
		readSection(&d, t.scaleDecisions, func(o *ScaleDecision) string { return o.ID })
	}
	if err := d.finish(); err != nil {
		return tables{}, 0, err
	}
	return t, index, nil
}

func readSection[V any, P interface {
	*V
	decode(d *decoder)
}](d *decoder, m map[string]*V, id func(*V) string) {
	n := d.count(1)
	for i := 0; i < n && d.err == nil; i++ {
		od := decoder{b: d.bytes()}
		v := new(V)
		P(v).decode(&od)
		if err := od.finish(); err != nil {
			d.err = err
			return
		}
		m[id(v)] = v
	}
}
