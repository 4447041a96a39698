package netutil

import (
	"fmt"
	"net"
	"strconv"
)

// SplitHostPort parses host:port where the port is a number from 0 to
// 65535 (0 asks the kernel for a free port). Config validation and the
// code that binds share it, so what validates is what binds.
func SplitHostPort(s string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return host, port, nil
}
