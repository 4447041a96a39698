// Command strata runs every Strata role — origin, edge, a whole dev
// cluster — and is also the client for the origin API and the bench tool.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string) error
}

// commands is filled by the files of this package in init functions, so
// each subcommand lives in its own file.
var commands = map[string]command{}

// Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 not found,
// 4 conflict or refused by policy, 5 unavailable (no leader, no capacity).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitConflict    = 4
	exitUnavailable = 5
)

// usageError marks errors caused by how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitStatus is an exit status to pass through as is, such as a
// subprocess's that already printed its own error.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage()
		return exitOK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "strata: unknown command %q\n\n", args[0])
		printUsage()
		return exitUsage
	}
	err := cmd.run(args[1:])
	var st exitStatus
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &st):
		return int(st) // the command has said why
	}
	fmt.Fprintf(os.Stderr, "strata %s: %v\n", args[0], err)
	return exitCode(err)
}

func printUsage() {
	fmt.Fprintf(os.Stderr, `strata — edge streaming fabric for interactive GPU sessions
%s

Usage: strata <command> [flags]

Commands:
`, buildVersion())
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(os.Stderr, `
Client commands talk to the origin at $STRATA_ADDR (default 127.0.0.1:7070)
with the API key in $STRATA_TOKEN. Run 'strata <command> -h' for its flags.
`)
}
