package main

import (
	"flag"
	"log/slog"
	"os"

	"github.com/strata-edge/strata/internal/config"
	"github.com/strata-edge/strata/internal/logging"
)

// bindLogFlags adds the log flags every role command shares.
func bindLogFlags(fs *flag.FlagSet, level, format *string) {
	fs.StringVar(level, "log-level", *level, "debug, info, warn or error (log.level)")
	fs.StringVar(format, "log-format", *format, "text or json (log.format)")
}

// loadRole resolves a role's configuration (defaults, file, STRATA_*
// environment, flags), validates it and builds its logger from the
// resolved log settings. Bad settings are usage errors.
func loadRole(dst any, defaults func(), fs *flag.FlagSet, args []string, validate func() error, level, format *string) (*slog.Logger, error) {
	if err := config.Resolve(dst, defaults, fs, args, os.Environ()); err != nil {
		return nil, err
	}
	if err := validate(); err != nil {
		return nil, usagef("%v", err)
	}
	log, err := logging.New(os.Stderr, *format, *level)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return log, nil
}
