package sandbox

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// LookupCredential resolves "name", "name:group", "uid" or "uid:gid".
// A name brings the account's primary group and supplementary groups
// (GPU device nodes are often group-readable); a bare uid gets the gid
// given, or the uid's primary group when the account exists, or the uid.
func LookupCredential(s string) (Credential, error) {
	name, group, hasGroup := strings.Cut(s, ":")
	if name == "" || (hasGroup && group == "") {
		return Credential{}, fmt.Errorf("%q: want name, name:group, uid or uid:gid", s)
	}
	var c Credential
	var u *user.User
	if id, err := strconv.ParseUint(name, 10, 32); err == nil {
		c.UID, c.GID = uint32(id), uint32(id)
		if u, err = user.LookupId(name); err == nil {
			gid, _ := strconv.ParseUint(u.Gid, 10, 32)
			c.GID = uint32(gid)
		}
		u = nil // a numeric user gets no supplementary groups
	} else {
		if u, err = user.Lookup(name); err != nil {
			return Credential{}, fmt.Errorf("user %q: %w", name, err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return Credential{}, fmt.Errorf("user %q: non-numeric ids %s:%s", name, u.Uid, u.Gid)
		}
		c.UID, c.GID = uint32(uid), uint32(gid)
	}
	if hasGroup {
		gid, err := lookupGroup(group)
		if err != nil {
			return Credential{}, err
		}
		c.GID = gid
	}
	c.Groups = []uint32{c.GID}
	if u != nil {
		if ids, err := u.GroupIds(); err == nil {
			for _, g := range ids {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != c.GID {
					c.Groups = append(c.Groups, uint32(n))
				}
			}
		}
	}
	return c, nil
}

func lookupGroup(s string) (uint32, error) {
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(id), nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", s, err)
	}
	id, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group %q: non-numeric id %s", s, g.Gid)
	}
	return uint32(id), nil
}

// Nobody is the account instances run as when an edge running as root
// is given none: nobody, with group nogroup where it exists.
func Nobody() (Credential, error) {
	if c, err := LookupCredential("nobody:nogroup"); err == nil {
		return c, nil
	}
	return LookupCredential("nobody")
}
