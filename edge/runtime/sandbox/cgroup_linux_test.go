package sandbox

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestOpenCgroupsRejectsParentOutsideHierarchy(t *testing.T) {
	for _, p := range []string{"", "/strata", "../strata", "a/../../b", "strata/"} {
		if _, err := openCgroupsAt(CgroupRoot, p); err == nil || !strings.Contains(err.Error(), "relative path") {
			t.Errorf("parent %q: %v; want refused", p, err)
		}
	}
}

// A cgroup v2 hierarchy without the cpu and memory controllers (the
// unified one of a v1-hybrid host) cannot limit instances and says so.
func TestOpenCgroupsV2WithoutControllers(t *testing.T) {
	const unified = CgroupRoot + "/unified"
	var st syscall.Statfs_t
	if err := syscall.Statfs(unified, &st); err != nil || st.Type != cgroup2Magic {
		t.Skip("no hybrid unified hierarchy here")
	}
	b, _ := os.ReadFile(unified + "/cgroup.controllers")
	if strings.Contains(string(b), "memory") {
		t.Skip("the unified hierarchy has controllers here")
	}
	if _, err := openCgroupsAt(unified, "strata-test"); err == nil || !strings.Contains(err.Error(), "lacks the cpu or memory controller") {
		t.Fatalf("open: %v; want the missing controllers named", err)
	}
}
