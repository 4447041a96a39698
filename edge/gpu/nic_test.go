package gpu

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestNICCapacity(t *testing.T) {
	sys := filepath.Join("testdata", "sys", "class", "net")
	route := filepath.Join("testdata", "proc", "route")
	tests := []struct {
		name       string
		probe      NICProbe
		configured int64
		iface      string
		want       NIC
		wantErr    error
	}{
		{name: "configured wins", configured: 40000, want: NIC{Mbps: 40000}},
		{name: "default route lowest metric", probe: NICProbe{RouteFile: route, SysNetDir: sys}, want: NIC{Iface: "ens5", Mbps: 25000}},
		{name: "named iface", probe: NICProbe{RouteFile: route, SysNetDir: sys}, iface: "eth0", want: NIC{Iface: "eth0", Mbps: 10000}},
		{name: "virtual nic -1", probe: NICProbe{SysNetDir: sys}, iface: "veth0", wantErr: ErrNICSpeedUnknown},
		{name: "missing iface", probe: NICProbe{SysNetDir: sys}, iface: "wlan9", wantErr: ErrNICSpeedUnknown},
		{name: "path in name", probe: NICProbe{SysNetDir: sys}, iface: "../eth0", wantErr: ErrNICSpeedUnknown},
		{name: "no default route", probe: NICProbe{RouteFile: filepath.Join("testdata", "proc", "route-nodefault"), SysNetDir: sys}, wantErr: ErrNoDefaultRoute},
		{name: "no route file", probe: NICProbe{RouteFile: filepath.Join("testdata", "nope"), SysNetDir: sys}, wantErr: ErrNoDefaultRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.probe.NICCapacity(tt.configured, tt.iface)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
