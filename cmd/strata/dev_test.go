package main

import (
	"strings"
	"testing"
	"time"
)

// TestTokenExpiryHint: `strata dev` says when the demo player URL's token
// expires and the command that gives a new one.
func TestTokenExpiryHint(t *testing.T) {
	got := tokenExpiryHint("ses_1", time.Now().Add(15*time.Minute))
	for _, want := range []string{"token expires", "in 15m", "strata sessions viewer ses_1"} {
		if !strings.Contains(got, want) {
			t.Errorf("hint %q lacks %q", got, want)
		}
	}
}
