// Package bundle turns the player's TypeScript sources into the one
// JavaScript file edges serve, with the esbuild Go API: no npm toolchain
// is needed to build Strata. go generate and the staleness test share it,
// so both produce the same bytes.
package bundle

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Entry is the bundle's entry point, relative to the player directory.
const Entry = "src/main.ts"

// ErrBuild means esbuild reported errors.
var ErrBuild = errors.New("bundle: esbuild failed")

// Build bundles the sources under playerDir (the directory holding src/)
// into a minified, self-contained IIFE.
func Build(playerDir string) ([]byte, error) {
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{filepath.Join(playerDir, Entry)},
		AbsWorkingDir:     mustAbs(playerDir),
		Bundle:            true,
		Write:             false,
		Format:            api.FormatIIFE,
		Target:            api.ES2022,
		Platform:          api.PlatformBrowser,
		MinifySyntax:      true,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		LogLevel:          api.LogLevelSilent,
		Banner:            map[string]string{"js": "/* Strata player: generated from player/src by go generate; do not edit. */"},
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("%w:\n%s", ErrBuild, strings.Join(msgs, ""))
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("%w: %d output files", ErrBuild, len(res.OutputFiles))
	}
	return res.OutputFiles[0].Contents, nil
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
