package main

import "github.com/strata-edge/strata/edge/runtime/sandbox"

// The edge's process runtime re-executes this binary as `strata
// sandbox-exec` to enter an instance's sandbox and exec its command. The
// command exists only in that role (the shim's environment marks it), so
// it is not listed among the commands.
func init() {
	if sandbox.Hooked() {
		commands[sandbox.ShimArg] = command{"enter a session instance's sandbox (run by the edge)", func([]string) error {
			return exitStatus(sandbox.Main())
		}}
	}
}
