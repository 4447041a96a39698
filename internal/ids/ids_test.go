package ids

import (
	"testing"
	"time"
)

func TestNewIsValidAndSorted(t *testing.T) {
	a := New("ses", time.UnixMilli(1000))
	b := New("ses", time.UnixMilli(2000))
	if !Valid("ses", a) || !Valid("ses", b) {
		t.Fatalf("invalid ids %q %q", a, b)
	}
	if a >= b {
		t.Fatalf("ids not time-ordered: %q >= %q", a, b)
	}
	for _, bad := range []string{"", "ses_", "app_" + a[4:], a + "x", a[:len(a)-1] + "U", "ses-" + a[4:]} {
		if Valid("ses", bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}
