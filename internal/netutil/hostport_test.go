package netutil

import "testing"

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in       string
		host     string
		port     int
		wantFail bool
	}{
		{in: "127.0.0.1:7946", host: "127.0.0.1", port: 7946},
		{in: "0.0.0.0:0", host: "0.0.0.0", port: 0},
		{in: ":65535", host: "", port: 65535},
		{in: "[::1]:80", host: "::1", port: 80},
		{in: "example.net:443", host: "example.net", port: 443},
		{in: "127.0.0.1:65536", wantFail: true},
		{in: "127.0.0.1:-1", wantFail: true},
		{in: "127.0.0.1:http", wantFail: true},
		{in: "127.0.0.1:", wantFail: true},
		{in: "127.0.0.1", wantFail: true},
		{in: "", wantFail: true},
	}
	for _, tt := range tests {
		host, port, err := SplitHostPort(tt.in)
		if tt.wantFail {
			if err == nil {
				t.Errorf("SplitHostPort(%q) = %q, %d; want an error", tt.in, host, port)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port {
			t.Errorf("SplitHostPort(%q) = %q, %d, %v; want %q, %d", tt.in, host, port, err, tt.host, tt.port)
		}
	}
}
