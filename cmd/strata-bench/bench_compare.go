package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/strata-edge/strata/bench"
)

func init() { benchTools["compare"] = benchCompare }

// benchCompare is `strata-bench compare OLD.json NEW.json`: every numeric
// figure of two results of one suite side by side, with a ratio and a
// verdict against a noise band.
func benchCompare(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	noise := fs.Float64("noise", 0.05, "ratios within 1±noise are reported as noise")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: strata-bench compare [--noise 0.05] [--json] OLD.json NEW.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 2 || *noise < 0 {
		return usagef("compare takes two result files (OLD.json NEW.json) and a non-negative --noise")
	}
	old, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	neu, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return err
	}
	c, err := bench.Compare(old, neu, *noise)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(w, c)
	}
	return c.WriteTable(w)
}
