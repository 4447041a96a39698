// Package netutil holds small network helpers shared by the node configs
// (origin, edge), the dev cluster, the test cluster and tests.
package netutil

import "net"

// FreeLoopbackAddrs reserves n free TCP ports on 127.0.0.1 and releases
// them, returning "127.0.0.1:port" addresses for the caller to bind. Ports
// are picked by the kernel, so another process could take one in between;
// tests and the dev cluster accept that small window.
func FreeLoopbackAddrs(n int) ([]string, error) {
	out := make([]string, 0, n)
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		// Gossip binds UDP on the same port number, and QUIC sockets of
		// other processes take UDP ports from the same ephemeral range:
		// skip a port whose UDP twin is taken (keeping the TCP one
		// reserved until return, so it is not offered again).
		if tries < 64 {
			u, err := net.ListenPacket("udp", l.Addr().String())
			if err != nil {
				continue
			}
			u.Close()
		}
		out = append(out, l.Addr().String())
	}
	return out, nil
}
