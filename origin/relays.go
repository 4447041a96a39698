package origin

import (
	"sync"
	"time"
)

// Bounds of relayMemo: it is a routing hint, so when full it forgets
// rather than grows.
const (
	relayMemoMax        = 100_000 // (session, edge) pairs per origin
	relayMemoPerSession = 64      // edges remembered per session
)

// relayMemo remembers which edges this origin recently sent viewers of a
// session to. An edge that got a viewer subscribes to the session from the
// ingest edge and keeps relaying it while that viewer watches, so the next
// viewer nearby should go there too (placement.RelayBonusMs) instead of
// opening another upstream. Edges do not report what they relay, and a
// viewer route is answered by any origin, so each origin keeps its own
// memo: approximate by design, and never more than a preference. An entry
// lasts as long as the viewer token it was issued with.
type relayMemo struct {
	mu        sync.Mutex
	bySession map[string]map[string]time.Time // session → edge → until
	n         int
}

// note records that edge serves session until the given time.
func (m *relayMemo) note(session, edge string, until time.Time, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bySession == nil {
		m.bySession = map[string]map[string]time.Time{}
	}
	edges := m.bySession[session]
	if _, ok := edges[edge]; ok {
		edges[edge] = until
		return
	}
	if m.n >= relayMemoMax {
		m.sweep(now)
	}
	if m.n >= relayMemoMax || len(edges) >= relayMemoPerSession {
		return
	}
	if edges == nil {
		edges = map[string]time.Time{}
		m.bySession[session] = edges
	}
	edges[edge] = until
	m.n++
}

// edges returns the edges remembered for session, dropping expired ones.
func (m *relayMemo) edges(session string, now time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for e, until := range m.bySession[session] {
		if now.After(until) {
			delete(m.bySession[session], e)
			m.n--
			continue
		}
		out = append(out, e)
	}
	if len(m.bySession[session]) == 0 {
		delete(m.bySession, session)
	}
	return out
}

// sweep drops every expired entry. Caller holds mu.
func (m *relayMemo) sweep(now time.Time) {
	for s, edges := range m.bySession {
		for e, until := range edges {
			if now.After(until) {
				delete(edges, e)
				m.n--
			}
		}
		if len(edges) == 0 {
			delete(m.bySession, s)
		}
	}
}
