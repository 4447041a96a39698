// Package sibling finds an executable that is built and shipped beside
// the running one, as strata finds strata-bench and strata-bench finds
// strata: a bin/ folder built together is used together, and PATH is the
// fallback.
package sibling

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNotFound means the executable is neither beside the running one nor
// on PATH.
var ErrNotFound = errors.New("sibling: executable not found")

// Find returns the path of the executable name in the directory of the
// running executable, else the one on PATH.
func Find(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("sibling: own executable: %w", err)
	}
	dir := filepath.Dir(self)
	// A path with a separator is checked as is (with the platform's
	// executable suffixes), never searched.
	if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: %s is not in %s nor on PATH", ErrNotFound, name, dir)
}
