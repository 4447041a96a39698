package metricsrv

import "testing"

// TestAdvertiseAddr: an explicit address wins; a bound address with a
// wildcard host takes the host of the node's other address; a concrete
// bound address stays.
func TestAdvertiseAddr(t *testing.T) {
	for _, tc := range []struct{ advertise, bound, peer, want string }{
		{"metrics.example:9000", "0.0.0.0:7947", "10.0.0.5:7946", "metrics.example:9000"},
		{"", "0.0.0.0:7947", "10.0.0.5:7946", "10.0.0.5:7947"},
		{"", "[::]:7947", "[fd00::5]:7946", "[fd00::5]:7947"},
		{"", ":7947", "10.0.0.5:7946", "10.0.0.5:7947"},
		{"", "127.0.0.1:7947", "10.0.0.5:7946", "127.0.0.1:7947"},
		{"", "0.0.0.0:7947", "", "0.0.0.0:7947"},
	} {
		if got := AdvertiseAddr(tc.advertise, tc.bound, tc.peer); got != tc.want {
			t.Errorf("AdvertiseAddr(%q, %q, %q) = %q, want %q", tc.advertise, tc.bound, tc.peer, got, tc.want)
		}
	}
}

// TestAuthorized: only the exact bearer token passes; no token set
// authorizes nothing.
func TestAuthorized(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		want          bool
	}{
		{"Bearer s3cret", "s3cret", true},
		{"bearer s3cret", "s3cret", true}, // RFC 7235: the scheme is case-insensitive
		{"BEARER s3cret", "s3cret", true},
		{"Basic s3cret", "s3cret", false},
		{"Bearer s3cre", "s3cret", false},
		{"s3cret", "s3cret", false},
		{"Bearer ", "", false},
		{"", "", false},
	} {
		if got := Authorized(tc.header, tc.token); got != tc.want {
			t.Errorf("Authorized(%q, %q) = %v, want %v", tc.header, tc.token, got, tc.want)
		}
	}
}
