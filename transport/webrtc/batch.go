package webrtc

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// batchConn is the UDP socket every peer connection shares, with one
// addition: a viewer's writer can hold its destination while it writes a
// frame, so the frame's packets (which pion encrypts and writes one by
// one, each a syscall) leave in one send when it flushes. On Linux that
// send uses UDP GSO when the packets allow it, which costs the kernel
// about one packet's work for the lot. Writes to addresses nobody holds
// go straight out.
//
// It implements ice.AddrPortReaderWriter so pion's UDP mux keeps its
// allocation-free path.
type batchConn struct {
	conn *net.UDPConn
	held sync.Map // netip.AddrPort (unmapped) -> *heldAddr
	gso  atomic.Bool
	// sends and packets count flushes that went out and the packets in
	// them, for the batching ratio.
	sends, packets atomic.Uint64
}

// heldAddr buffers packets to one destination while it is held. A
// peer's writers (video and audio) share one and may hold it at once;
// the last to release sends what was buffered.
type heldAddr struct {
	b    *batchConn
	addr netip.AddrPort

	mu    sync.Mutex
	holds int
	buf   []byte
	lens  []int
}

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{conn: c}
	b.gso.Store(gsoSupported(c))
	return b
}

// holder returns a holder for addr; nothing is held until hold.
func (b *batchConn) holder(addr netip.AddrPort) *heldAddr {
	return &heldAddr{b: b, addr: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())}
}

// hold starts buffering writes to the address.
func (h *heldAddr) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds++
	if h.holds == 1 {
		h.b.held.Store(h.addr, h)
	}
}

// release ends one hold; the last sends the buffered packets.
func (h *heldAddr) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds--
	if h.holds > 0 {
		return
	}
	h.b.held.CompareAndDelete(h.addr, h)
	h.sendLocked()
	if cap(h.buf) > keepBuffer {
		// A keyframe's worth is not kept per viewer between frames.
		h.buf, h.lens = nil, nil
	}
}

// Buffering bounds per held address: sent early beyond maxBuffered, and
// a buffer larger than keepBuffer is dropped after use.
const (
	maxBuffered = 64 << 10
	keepBuffer  = 16 << 10
)

func (h *heldAddr) sendLocked() {
	if len(h.lens) > 0 {
		h.b.send(h.addr, h.buf, h.lens)
		h.buf, h.lens = h.buf[:0], h.lens[:0]
	}
}

// send writes packets (lens splits buf) to addr: in GSO runs where the
// sizes allow, one at a time otherwise.
func (b *batchConn) send(addr netip.AddrPort, buf []byte, lens []int) {
	for len(lens) > 0 {
		n := 1
		if b.gso.Load() {
			n = gsoRun(lens)
		}
		size := 0
		for _, l := range lens[:n] {
			size += l
		}
		if n > 1 {
			if err := writeGSO(b.conn, buf[:size], lens[0], addr); err != nil && gsoRefused(err) {
				// The kernel or the device refuses GSO: stop trying, and
				// send this run again one by one. Other errors lose the
				// run, as they would lose single datagrams.
				b.gso.Store(false)
				continue
			}
		} else {
			_, _ = b.conn.WriteToUDPAddrPort(buf[:size], addr)
		}
		b.sends.Add(1)
		b.packets.Add(uint64(n))
		buf, lens = buf[size:], lens[n:]
	}
}

// gsoRun is how many leading packets can go in one GSO send: all of one
// size but the last, which may be shorter, within the kernel's limits.
func gsoRun(lens []int) int {
	const maxSegments, maxBytes = 64, 65000
	seg := lens[0]
	n, total := 1, seg
	for n < len(lens) && n < maxSegments && total+lens[n] <= maxBytes && lens[n] <= seg {
		total += lens[n]
		n++
		if lens[n-1] < seg {
			break
		}
	}
	return n
}

// WriteToAddrPort buffers the packet if its destination is held.
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	key := addr
	if key.Addr().Is4In6() {
		key = netip.AddrPortFrom(key.Addr().Unmap(), key.Port())
	}
	if v, ok := b.held.Load(key); ok {
		h := v.(*heldAddr)
		h.mu.Lock()
		if h.holds > 0 { // else released since the lookup
			if len(h.buf)+len(p) > maxBuffered {
				h.sendLocked()
			}
			h.buf = append(h.buf, p...)
			h.lens = append(h.lens, len(p))
			h.mu.Unlock()
			return len(p), nil
		}
		h.mu.Unlock()
	}
	return b.conn.WriteToUDPAddrPort(p, addr)
}

// ReadFromAddrPort reads from the socket.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.conn.ReadFromUDPAddrPort(p)
}

// The rest is net.PacketConn, for pion's fallbacks.

func (b *batchConn) ReadFrom(p []byte) (int, net.Addr, error) { return b.conn.ReadFrom(p) }

func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		return b.WriteToAddrPort(p, ua.AddrPort())
	}
	return b.conn.WriteTo(p, addr)
}

func (b *batchConn) Close() error                       { return b.conn.Close() }
func (b *batchConn) LocalAddr() net.Addr                { return b.conn.LocalAddr() }
func (b *batchConn) SetDeadline(t time.Time) error      { return b.conn.SetDeadline(t) }
func (b *batchConn) SetReadDeadline(t time.Time) error  { return b.conn.SetReadDeadline(t) }
func (b *batchConn) SetWriteDeadline(t time.Time) error { return b.conn.SetWriteDeadline(t) }
