package gossip

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// countingTransport wraps memberlist's NetTransport to count packets and
// bytes for metrics. Two goroutines relay the inbound channels; they are
// owned by the transport and end in Shutdown, which memberlist calls from
// its own Shutdown.
type countingTransport struct {
	inner    *memberlist.NetTransport
	m        *metrics
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	stop     chan struct{} // relays stop delivering and start discarding
	done     chan struct{} // inner transport fully shut down; relays exit
	once     sync.Once
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

func newCountingTransport(inner *memberlist.NetTransport, m *metrics) *countingTransport {
	t := &countingTransport{
		inner:    inner,
		m:        m,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	t.wg.Go(t.relayPackets)
	t.wg.Go(t.relayStreams)
	return t
}

func (t *countingTransport) relayPackets() {
	in := t.inner.PacketCh()
	for {
		select {
		case p := <-in:
			t.m.packetsRecv.Inc()
			t.m.packetBytesRecv.Add(float64(len(p.Buf)))
			select {
			case t.packetCh <- p:
			case <-t.stop:
				t.drain()
				return
			}
		case <-t.stop:
			t.drain()
			return
		}
	}
}

// drain discards inbound traffic until the inner transport has stopped: its
// listeners block on unbuffered channels and its Shutdown waits for them.
func (t *countingTransport) drain() {
	packets, streams := t.inner.PacketCh(), t.inner.StreamCh()
	for {
		select {
		case <-packets:
		case c := <-streams:
			_ = c.Close()
		case <-t.done:
			return
		}
	}
}

func (t *countingTransport) relayStreams() {
	in := t.inner.StreamCh()
	for {
		select {
		case c := <-in:
			select {
			case t.streamCh <- &countingConn{Conn: c, m: t.m}:
			case <-t.stop:
				_ = c.Close()
				return
			}
		case <-t.stop:
			return
		}
	}
}

func (t *countingTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.countPacket(b)
	return t.inner.WriteTo(b, addr)
}

func (t *countingTransport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	t.countPacket(b)
	return t.inner.WriteToAddress(b, addr)
}

func (t *countingTransport) countPacket(b []byte) {
	t.m.packetsSent.Inc()
	t.m.packetBytesSent.Add(float64(len(b)))
}

func (t *countingTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }
func (t *countingTransport) StreamCh() <-chan net.Conn           { return t.streamCh }

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, m: t.m}, nil
}

func (t *countingTransport) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialAddressTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, m: t.m}, nil
}

// Shutdown stops the relays, then the sockets; safe to call twice.
func (t *countingTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.stop)
		err = t.inner.Shutdown()
		close(t.done)
		t.wg.Wait()
	})
	return err
}

// countingConn counts stream bytes (push/pull state sync, TCP pings).
type countingConn struct {
	net.Conn
	m *metrics
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.m.streamBytesRecv.Add(float64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.m.streamBytesSent.Add(float64(n))
	return n, err
}
