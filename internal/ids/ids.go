// Package ids makes and checks object IDs: a type prefix, an underscore and
// 26 base32 characters (48 bits of milliseconds, then 80 random bits), so IDs
// sort by creation time and pagination cursors follow creation order.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var enc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// bodyLen is the length of the part after the prefix.
const bodyLen = 26

// New returns a fresh ID with the given prefix, such as "ses".
func New(prefix string, now time.Time) string {
	var b [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:])
	return prefix + "_" + enc.EncodeToString(b[:])
}

// Valid reports whether id is a well-formed ID with the given prefix.
func Valid(prefix, id string) bool {
	body, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(body) != bodyLen {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}
