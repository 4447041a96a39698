package sandbox

import (
	"os/user"
	"slices"
	"strconv"
	"testing"
)

func TestLookupCredential(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	uid, _ := strconv.ParseUint(nobody.Uid, 10, 32)
	gid, _ := strconv.ParseUint(nobody.Gid, 10, 32)
	for _, tc := range []struct {
		in        string
		uid, gid  uint32
		wantError bool
	}{
		{in: "nobody", uid: uint32(uid), gid: uint32(gid)},
		{in: "nobody:0", uid: uint32(uid), gid: 0},
		{in: nobody.Uid, uid: uint32(uid), gid: uint32(gid)},
		{in: "4242:4343", uid: 4242, gid: 4343},
		{in: "4242", uid: 4242, gid: 4242},
		{in: "", wantError: true},
		{in: "nobody:", wantError: true},
		{in: ":0", wantError: true},
		{in: "no-such-user-here", wantError: true},
		{in: "nobody:no-such-group-here", wantError: true},
	} {
		c, err := LookupCredential(tc.in)
		if tc.wantError {
			if err == nil {
				t.Errorf("%q: %v; want an error", tc.in, c)
			}
			continue
		}
		if err != nil || c.UID != tc.uid || c.GID != tc.gid || !slices.Contains(c.Groups, tc.gid) {
			t.Errorf("%q: %+v, %v; want %d:%d with the gid among the groups", tc.in, c, err, tc.uid, tc.gid)
		}
	}
}
