package gossip

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// logWriter routes memberlist's standard-library log lines
// ("[ERR] memberlist: Decrypt packet failed: ...") into slog, mapping the
// bracketed level, so operators see gossip trouble such as a wrong key in
// Strata's structured logs with component=gossip.
//
// Anyone who can reach the gossip port can make memberlist log: it logs
// one ERROR per undecryptable or undecodable packet. So warnings and
// errors are rate-limited per kind of message (at most one line per
// logEvery, with the count of those suppressed), and bad packets are
// counted in strata_gossip_bad_packets_total instead.
type logWriter struct {
	log        *slog.Logger
	badPackets prometheus.Counter // nil: not counted
	limit      *logLimiter        // nil: every line is written
}

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

// badInput are the memberlist messages that mean a peer (or anyone) sent
// a packet or stream this node could not use.
var badInput = []string{
	"Decrypt packet failed", "Failed to decode", "Failed to decompress",
	"missing message type byte", "msg type (", "Message type (", "Received invalid msgType",
	"invalid checksum", "unacceptable label", "double packet label", "double stream label",
	"cannot decode label", "label header cannot be empty",
	"failed to receive", "Failed to read remote state",
}

// logEvery is how often one kind of warning or error may be logged.
const logEvery = 10 * time.Second

func newLogWriter(log *slog.Logger, badPackets prometheus.Counter) *logWriter {
	return &logWriter{log: log, badPackets: badPackets, limit: newLogLimiter(logEvery, time.Now)}
}

func (w *logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range levels {
		if bytes.HasPrefix(line, []byte(l.tag)) {
			level = l.level
			line = bytes.TrimSpace(line[len(l.tag):])
			break
		}
	}
	msg := string(bytes.TrimPrefix(line, []byte("memberlist: ")))
	if level >= slog.LevelWarn && w.badPackets != nil && isBadInput(msg) {
		w.badPackets.Inc()
	}
	if level < slog.LevelWarn || w.limit == nil {
		w.log.Log(context.Background(), level, msg)
		return len(p), nil
	}
	ok, suppressed := w.limit.admit(level, logKind(msg))
	switch {
	case !ok:
	case suppressed > 0:
		w.log.Log(context.Background(), level, msg, "suppressed", suppressed, "suppressed_window", w.limit.every)
	default:
		w.log.Log(context.Background(), level, msg)
	}
	return len(p), nil
}

func isBadInput(msg string) bool {
	for _, s := range badInput {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// logKind is the fixed part of a memberlist message: the text before its
// first variable part (an error after ':', a value in parentheses or
// quotes, the peer's from= address), at most 80 bytes.
func logKind(msg string) string {
	if i := strings.Index(msg, " from="); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.IndexAny(msg, `:("'`); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return strings.TrimSpace(msg)
}

// logLimiter admits one line per kind per window. It holds at most
// maxLogKinds kinds; beyond that, kinds whose window has passed are
// forgotten, or all of them if none has.
type logLimiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	kinds map[logKey]*logWindow
}

type logKey struct {
	level slog.Level
	kind  string
}

type logWindow struct {
	until      time.Time // lines of the kind before this are suppressed
	suppressed int
}

const maxLogKinds = 512

func newLogLimiter(every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{every: every, now: now, kinds: map[logKey]*logWindow{}}
}

// admit reports whether a line of this kind may be written now and, if
// so, how many lines of the kind were suppressed since the last one.
func (l *logLimiter) admit(level slog.Level, kind string) (bool, int) {
	now := l.now()
	key := logKey{level, kind}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.kinds[key]
	if w == nil {
		if len(l.kinds) >= maxLogKinds {
			l.forget(now)
		}
		l.kinds[key] = &logWindow{until: now.Add(l.every)}
		return true, 0
	}
	if now.Before(w.until) {
		w.suppressed++
		return false, 0
	}
	n := w.suppressed
	w.until, w.suppressed = now.Add(l.every), 0
	return true, n
}

// forget drops kinds whose window has passed, or every kind if none has.
// The caller holds l.mu.
func (l *logLimiter) forget(now time.Time) {
	for k, w := range l.kinds {
		if !now.Before(w.until) {
			delete(l.kinds, k)
		}
	}
	if len(l.kinds) >= maxLogKinds {
		clear(l.kinds)
	}
}
