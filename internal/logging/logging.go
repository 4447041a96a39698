// Package logging builds Strata's slog loggers and adapts the line-oriented
// loggers of libraries (hashicorp/raft's hclog, memberlist's log.Logger)
// into slog, so every line carries a component and a level.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a logger writing to w in the given format ("text" or "json")
// at the given level ("debug", "info", "warn", "error").
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	// Unique: a component's own "component" replaces its caller's, so a
	// line never carries the key twice.
	switch format {
	case "", "text":
		return slog.New(Unique(slog.NewTextHandler(w, opts))), nil
	case "json":
		return slog.New(Unique(slog.NewJSONHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// ParseLevel maps a level name to its slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// Discard is a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Writer returns an io.Writer that turns each written line such as
// "2024-01-02T15:04:05Z [WARN]  raft: heartbeat timeout" into a slog record
// at the matching level on logger.
func Writer(logger *slog.Logger) io.Writer { return &lineWriter{l: logger} }

// WriterLeveled is Writer with a say in each line's level: relevel gets
// the level read from the line and its text and returns the level to log
// at, so a library's routine event tagged WARN can be logged as info.
func WriterLeveled(logger *slog.Logger, relevel func(slog.Level, string) slog.Level) io.Writer {
	return &lineWriter{l: logger, relevel: relevel}
}

type lineWriter struct {
	l       *slog.Logger
	relevel func(slog.Level, string) slog.Level
}

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		level, msg := splitLevel(string(line))
		if w.relevel != nil {
			level = w.relevel(level, msg)
		}
		if msg == "" || !w.l.Enabled(context.Background(), level) {
			continue
		}
		w.l.Log(context.Background(), level, msg)
	}
	return len(p), nil
}

// splitLevel finds a "[LEVEL]" tag and returns the level and the text
// after it; lines without a tag are info.
func splitLevel(line string) (slog.Level, string) {
	open := strings.IndexByte(line, '[')
	close := strings.IndexByte(line, ']')
	if open < 0 || close < open {
		return slog.LevelInfo, strings.TrimSpace(line)
	}
	msg := strings.TrimSpace(line[close+1:])
	switch strings.ToUpper(line[open+1 : close]) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug, msg
	case "WARN", "WARNING":
		return slog.LevelWarn, msg
	case "ERR", "ERROR":
		return slog.LevelError, msg
	}
	return slog.LevelInfo, msg
}
