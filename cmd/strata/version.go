package main

import (
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

func init() {
	commands["version"] = command{"print the version and commit this binary was built from", runVersion}
}

func runVersion(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "Usage: strata version (or strata --version)") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Println("strata " + buildVersion())
	return nil
}

// buildVersion says which build this binary is, from what the Go
// toolchain recorded in it, so a bug report can name the exact source.
func buildVersion() string { return describeBuild(debug.ReadBuildInfo()) }

// describeBuild renders build info: the main module's version, the VCS
// commit (and whether the work tree had uncommitted changes), and the Go
// version.
func describeBuild(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "version unknown (no build info)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	commit, modified := "unknown", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version %s, commit %s", version, commit)
	if modified {
		b.WriteString(" (modified)")
	}
	fmt.Fprintf(&b, ", %s", bi.GoVersion)
	return b.String()
}
