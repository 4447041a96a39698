package gpu

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NIC is the egress capacity an edge advertises.
type NIC struct {
	Iface string // "" when the capacity came from configuration
	Mbps  int64
}

// NICProbe reads NIC capacity. Paths are fields so tests point them at a
// fake /proc and /sys under testdata.
type NICProbe struct {
	RouteFile string // "" means /proc/net/route
	SysNetDir string // "" means /sys/class/net
}

// NICCapacity returns configuredMbps when it is > 0 (operators know their
// uplink better than sysfs, which reports link speed, not contracted
// bandwidth). Otherwise it reads iface's speed, or that of the interface
// carrying the default route when iface is "".
func (p NICProbe) NICCapacity(configuredMbps int64, iface string) (NIC, error) {
	if configuredMbps > 0 {
		return NIC{Mbps: configuredMbps}, nil
	}
	if iface == "" {
		var err error
		if iface, err = p.defaultRouteIface(); err != nil {
			return NIC{}, err
		}
	}
	if strings.ContainsAny(iface, "/\x00") || iface == "." || iface == ".." {
		return NIC{}, fmt.Errorf("%w: bad interface name %q", ErrNICSpeedUnknown, iface)
	}
	dir := p.SysNetDir
	if dir == "" {
		dir = "/sys/class/net"
	}
	b, err := os.ReadFile(filepath.Join(dir, iface, "speed"))
	if err != nil {
		return NIC{}, fmt.Errorf("%w: %s: %w (set the NIC capacity in config)", ErrNICSpeedUnknown, iface, err)
	}
	mbps, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || mbps <= 0 {
		return NIC{}, fmt.Errorf("%w: %s reports speed %q (virtual NIC?; set the NIC capacity in config)",
			ErrNICSpeedUnknown, iface, bytes.TrimSpace(b))
	}
	return NIC{Iface: iface, Mbps: mbps}, nil
}

// defaultRouteIface picks the interface of the lowest-metric IPv4 default
// route from /proc/net/route.
func (p NICProbe) defaultRouteIface() (string, error) {
	path := p.RouteFile
	if path == "" {
		path = "/proc/net/route"
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoDefaultRoute, err)
	}
	defer f.Close()
	best, bestMetric := "", int64(-1)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 8 || fs[1] != "00000000" || fs[7] != "00000000" {
			continue
		}
		metric, err := strconv.ParseInt(fs[6], 10, 64)
		if err != nil {
			continue
		}
		if bestMetric < 0 || metric < bestMetric {
			best, bestMetric = fs[0], metric
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w in %s (name the interface or set the NIC capacity in config)", ErrNoDefaultRoute, path)
	}
	return best, nil
}
