package main

import (
	"flag"
	"fmt"

	"github.com/strata-edge/strata/registry/gossip"
)

func init() {
	commands["keygen"] = command{"print a new base64 gossip encryption key", runKeygen}
}

func runKeygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata keygen\n\nPrints a new random 32-byte gossip key (base64) for --gossip-key.\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("keygen takes no arguments")
	}
	k, err := gossip.GenerateKey()
	if err != nil {
		return err
	}
	fmt.Println(k)
	return nil
}
