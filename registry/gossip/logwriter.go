package gossip

import (
	"bytes"
	"context"
	"log/slog"
)

// logWriter routes memberlist's standard-library log lines
// ("[ERR] memberlist: Decrypt packet failed: ...") into slog, mapping the
// bracketed level, so operators see gossip trouble such as a wrong key in
// Strata's structured logs with component=gossip.
type logWriter struct{ log *slog.Logger }

var levels = []struct {
	tag   string
	level slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

func (w logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range levels {
		if bytes.HasPrefix(line, []byte(l.tag)) {
			level = l.level
			line = bytes.TrimSpace(line[len(l.tag):])
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.log.Log(context.Background(), level, string(line))
	return len(p), nil
}
