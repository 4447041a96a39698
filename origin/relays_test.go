package origin

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestRelayMemo(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var m relayMemo
	m.note("s1", "e1", t0.Add(time.Minute), t0)
	m.note("s1", "e2", t0.Add(2*time.Minute), t0)
	m.note("s2", "e1", t0.Add(time.Minute), t0)
	m.note("s1", "e1", t0.Add(3*time.Minute), t0) // refresh, not a second entry
	cases := []struct {
		name    string
		session string
		at      time.Time
		want    []string
	}{
		{"both live", "s1", t0.Add(30 * time.Second), []string{"e1", "e2"}},
		{"refreshed entry outlives the other", "s1", t0.Add(150 * time.Second), []string{"e1"}},
		{"all expired", "s1", t0.Add(time.Hour), nil},
		{"unknown session", "s9", t0, nil},
		{"other session", "s2", t0, []string{"e1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := m.edges(c.session, c.at)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("edges(%s) = %v, want %v", c.session, got, c.want)
			}
		})
	}
	if m.n != 1 || len(m.bySession) != 1 {
		t.Fatalf("after expiry %d entries in %d sessions, want 1 in 1", m.n, len(m.bySession))
	}
}

func TestRelayMemoBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var m relayMemo
	for i := range relayMemoPerSession + 10 {
		m.note("s", "e"+strconv.Itoa(i), t0.Add(time.Minute), t0)
	}
	if got := len(m.edges("s", t0)); got != relayMemoPerSession {
		t.Fatalf("%d edges remembered for one session, want %d", got, relayMemoPerSession)
	}
	for i := 0; m.n < relayMemoMax; i++ {
		m.note("x"+strconv.Itoa(i), "e", t0.Add(time.Minute), t0)
	}
	m.note("late", "e", t0.Add(time.Minute), t0)
	if len(m.edges("late", t0)) != 0 {
		t.Fatal("a full memo took another entry")
	}
	// Once entries expired, a note sweeps them and fits.
	later := t0.Add(2 * time.Minute)
	m.note("late", "e", later.Add(time.Minute), later)
	if got := m.edges("late", later); len(got) != 1 || m.n != 1 {
		t.Fatalf("after sweep: edges %v, %d entries", got, m.n)
	}
}
