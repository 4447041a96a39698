// Command gen writes the player bundle (dist/player.js) from src/; run it
// with go generate in the player directory.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-edge/strata/player/internal/bundle"
)

func main() {
	js, err := bundle.Build(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := filepath.Join("dist", "player.js")
	if err := os.WriteFile(out, js, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes)\n", out, len(js))
}
