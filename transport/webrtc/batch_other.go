//go:build !linux

package webrtc

import (
	"errors"
	"net"
	"net/netip"
)

func gsoSupported(*net.UDPConn) bool { return false }

func writeGSO(*net.UDPConn, []byte, int, netip.AddrPort) error {
	return errors.New("webrtc: no UDP GSO on this platform")
}

func gsoRefused(error) bool { return true }
