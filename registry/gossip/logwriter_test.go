package gossip

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

// TestGarbagePacketsLogRateLimited: a flood of garbage UDP packets at a
// gossip member (what anyone who reaches the port can send) yields a
// couple of log lines, not one ERROR per packet, and every one of them is
// counted in strata_gossip_bad_packets_total.
func TestGarbagePacketsLogRateLimited(t *testing.T) {
	n := newNode(t, "node-00", []string{testKey(t)}, nil)
	conn, err := net.Dial("udp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const packets = 1000
	buf := make([]byte, 64)
	for i := range packets {
		_, _ = rand.Read(buf)
		if i%100 == 0 {
			buf[0] = 244 // a label header, another path
		}
		if _, err := conn.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	// UDP may drop some; every packet that arrived is bad.
	var bad, recv float64
	poll.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		m := gathered(t, n.reg)
		bad, recv = m["strata_gossip_bad_packets_total"], m["strata_gossip_packets_received_total"]
		if recv < packets/10 || bad < recv {
			return fmt.Errorf("%v of %d packets received, %v counted bad", recv, packets, bad)
		}
		return nil
	})
	logs := n.logs.String()
	lines := 0
	for l := range strings.Lines(logs) {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			lines++
		}
	}
	if lines == 0 || lines > 5 {
		t.Fatalf("%v bad packets logged %d warning/error lines, want 1 to 5:\n%s", bad, lines, logs)
	}
}

// TestLogLimiter: one line per kind per window, the next one after the
// window carrying the count suppressed; kinds are told apart by their
// fixed text, not by the peer address or error detail.
func TestLogLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLogLimiter(10*time.Second, func() time.Time { return now })
	admit := func(msg string) (bool, int) { return l.admit(slog.LevelError, logKind(msg)) }
	if ok, _ := admit("Decrypt packet failed: no installed keys could decrypt the message from=10.0.0.1:7946"); !ok {
		t.Fatal("first line of a kind suppressed")
	}
	for i := range 9 {
		if ok, _ := admit(fmt.Sprintf("Decrypt packet failed: bad %d from=10.0.0.%d:7946", i, i)); ok {
			t.Fatal("repeat within the window admitted")
		}
	}
	if ok, _ := admit("msg type (201) not supported from=10.0.0.1:7946"); !ok {
		t.Fatal("another kind suppressed")
	}
	now = now.Add(10 * time.Second)
	if ok, n := admit("Decrypt packet failed: again from=10.0.0.9:7946"); !ok || n != 9 {
		t.Fatalf("after the window: admitted %v with %d suppressed; want true, 9", ok, n)
	}
	// Bounded: many distinct kinds never grow the table past its cap.
	for i := range 3 * maxLogKinds {
		admit(fmt.Sprintf("kind %d", i))
	}
	if len(l.kinds) > maxLogKinds {
		t.Fatalf("%d kinds held, cap %d", len(l.kinds), maxLogKinds)
	}
}
