package webrtc

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// udpSegment is UDP_SEGMENT (linux/udp.h): the GSO segment size option.
const udpSegment = 103

// gsoSupported probes the socket for UDP GSO (Linux 4.18+).
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_UDP, udpSegment)
		ok = err == nil
	})
	return ok
}

// writeGSO sends buf as datagrams of seg bytes (the last may be shorter)
// in one sendmsg.
func writeGSO(c *net.UDPConn, buf []byte, seg int, addr netip.AddrPort) error {
	var oob [32]byte // CmsgSpace(2) is 24 on 64-bit Linux
	n := syscall.CmsgSpace(2)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = syscall.IPPROTO_UDP
	h.Type = udpSegment
	h.SetLen(syscall.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&oob[syscall.CmsgLen(0)])) = uint16(seg)
	_, _, err := c.WriteMsgUDPAddrPort(buf, oob[:n], addr)
	return err
}

// gsoRefused tells errors meaning "no GSO here" (an old kernel, a device
// without checksum offload) from ordinary send failures.
func gsoRefused(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOPROTOOPT) || errors.Is(err, syscall.EOPNOTSUPP)
}
