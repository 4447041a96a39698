package api

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEListsEveryCode: the README's API section names exactly the
// codes an origin answers with, so the two stay in step.
func TestREADMEListsEveryCode(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, bullet, ok := strings.Cut(string(b), "\n- **Errors**:")
	if !ok {
		t.Fatal(`README has no "- **Errors**:" item`)
	}
	bullet, _, _ = strings.Cut(bullet, "\n- **")
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(bullet, -1) {
		if !slices.Contains(listed, m[1]) {
			listed = append(listed, m[1])
		}
	}
	var codes []string
	for _, c := range Codes {
		codes = append(codes, string(c))
		if !slices.Contains(listed, string(c)) {
			t.Errorf("README's error codes miss %s", c)
		}
	}
	for _, l := range listed {
		if !slices.Contains(codes, l) {
			t.Errorf("README lists %s, which is not in api.Codes", l)
		}
	}
}
