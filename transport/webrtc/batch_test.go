package webrtc

import (
	"bytes"
	"net"
	"slices"
	"testing"
	"time"
)

func TestGSORun(t *testing.T) {
	tests := []struct {
		lens []int
		want int
	}{
		{[]int{1200}, 1},
		{[]int{1200, 1200, 1200, 700}, 4},
		{[]int{1200, 700, 1200}, 2},          // a shorter packet ends the run
		{[]int{700, 1200}, 1},                // a longer one cannot follow
		{slices.Repeat([]int{100}, 80), 64},  // segment limit
		{slices.Repeat([]int{1400}, 60), 46}, // byte limit
	}
	for _, tc := range tests {
		if got := gsoRun(tc.lens); got != tc.want {
			t.Errorf("gsoRun(%v) = %d, want %d", tc.lens, got, tc.want)
		}
	}
}

// TestBatchConn checks that held writes arrive as the same datagrams, in
// order, once released, and that unheld writes go straight out.
func TestBatchConn(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(tx)
	defer b.Close()
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	read := func() []byte {
		t.Helper()
		buf := make([]byte, 2048)
		_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	pkt := func(i, size int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }

	if _, err := b.WriteToAddrPort(pkt(1, 10), dst); err != nil {
		t.Fatal(err)
	}
	if got := read(); !bytes.Equal(got, pkt(1, 10)) {
		t.Fatalf("unheld write: got %d bytes", len(got))
	}

	sizes := []int{1200, 1200, 1200, 500, 1200, 90}
	h := b.holder(dst)
	h.hold()
	h.hold() // audio and video writers at once
	for i, n := range sizes {
		if _, err := b.WriteToAddrPort(pkt(i, n), dst); err != nil {
			t.Fatal(err)
		}
	}
	h.release()
	_ = rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := rx.ReadFrom(make([]byte, 2048)); err == nil {
		t.Fatalf("a %d-byte datagram left before the last release", n)
	}
	h.release()
	for i, n := range sizes {
		if got := read(); !bytes.Equal(got, pkt(i, n)) {
			t.Fatalf("datagram %d: %d bytes of %v, want %d of %d", i, len(got), got[:1], n, i)
		}
	}
	if b.packets.Load() != uint64(len(sizes)) {
		t.Errorf("packets = %d, want %d", b.packets.Load(), len(sizes))
	}
	t.Logf("gso %v: %d sends for %d packets", b.gso.Load(), b.sends.Load(), b.packets.Load())
}

// TestBatchConnBounded: a held frame larger than the buffer bound still
// arrives whole and in order, and the big buffer is not kept.
func TestBatchConnBounded(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(1 << 20)
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(tx)
	defer b.Close()
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	const n = 120 // 144 kB, beyond maxBuffered
	h := b.holder(dst)
	h.hold()
	for i := range n {
		if _, err := b.WriteToAddrPort(bytes.Repeat([]byte{byte(i)}, 1200), dst); err != nil {
			t.Fatal(err)
		}
	}
	h.release()
	if h.buf != nil {
		t.Errorf("kept a %d-byte buffer", cap(h.buf))
	}
	buf := make([]byte, 2048)
	for i := range n {
		_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if m != 1200 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: %d bytes of %d", i, m, buf[0])
		}
	}
}
