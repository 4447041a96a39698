//go:build !unix

package sandbox

import (
	"fmt"
	"os"
)

// Main fails off unix: there is no process driver to sandbox for.
func Main() int {
	fmt.Fprintln(os.Stderr, "strata sandbox-exec: needs a unix system")
	return 127
}
