package runtimetest

import (
	"os"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// mkTemp is a directory for the workload, shared by the test binary's
// tests and left to the OS's temp clean-up.
func mkTemp() (string, error) {
	dir, err := os.MkdirTemp("", "strata-workload-")
	if err != nil {
		return "", err
	}
	// Process instances run as an unprivileged user, who must reach it.
	return dir, os.Chmod(dir, 0o755)
}
