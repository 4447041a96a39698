// Command strata-bench runs Strata's capacity benches: `strata-bench
// <suite> [flags] [--json]`, also run as `strata bench <suite>`. It is a
// binary of its own because most suites run a whole cluster in this
// process (the in-process test cluster) or drive a browser, and the
// release binary, strata, carries neither.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/strata-edge/strata/bench"
	"github.com/strata-edge/strata/edge/runtime/sandbox"
)

// Exit codes: 0 ok, 1 the bench failed, 2 usage error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors caused by how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func main() {
	// The session benches' edges re-execute this binary as their
	// instances' sandbox shim.
	if sandbox.Hooked() {
		os.Exit(sandbox.Main())
	}
	// The fan-out benches re-execute this binary as their subscriber
	// process; in that role it does nothing else.
	if child, err := bench.RunFanoutChildIfRequested(); child {
		if err != nil {
			fmt.Fprintf(os.Stderr, "strata-bench: fan-out subscriber process: %v\n", err)
			os.Exit(exitFailure)
		}
		os.Exit(exitOK)
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	err := runBench(args)
	var ue *usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "strata-bench: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(os.Stderr, "strata-bench: %v\n", err)
	return exitFailure
}
