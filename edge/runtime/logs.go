package runtime

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// ring keeps the newest max bytes written to it.
type ring struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	if over := len(r.buf) - r.max; over > 0 {
		// Shift rather than reallocate: the buffer stays at most 2×max.
		n := copy(r.buf, r.buf[over:])
		r.buf = r.buf[:n]
	}
	return len(p), nil
}

func (r *ring) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf)
}

// maxLine bounds a log line; longer ones are logged in pieces so an
// instance that never writes a newline cannot grow the edge's memory.
const maxLine = 4096

// lineLogger copies an instance's output into the ring and logs it line
// by line. exec runs one copy goroutine per stream, so each stream gets
// its own lineLogger (partial lines are per stream) sharing the ring.
type lineLogger struct {
	ring *ring
	log  *slog.Logger
	part []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	_, _ = l.ring.Write(p)
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			if len(l.part) >= maxLine {
				l.emit(l.part[:maxLine])
				l.part = l.part[maxLine:]
				continue
			}
			break
		}
		l.emit(l.part[:i])
		l.part = l.part[i+1:]
	}
	l.part = bytes.Clone(l.part) // let the consumed prefix be collected
	return len(p), nil
}

func (l *lineLogger) emit(line []byte) {
	l.log.Info(string(bytes.TrimRight(line, "\r")))
}

// flush logs a last line without a newline.
func (l *lineLogger) flush() {
	if len(l.part) > 0 {
		l.emit(l.part)
		l.part = nil
	}
}

// LogSink captures an instance's output for drivers outside this
// package, as the process driver does: the newest bytes of both streams
// interleaved (Bytes), and every line logged with its stream's name.
// Each stream has its own writer; neither is safe for concurrent use by
// itself, but the two may be written concurrently.
type LogSink struct {
	ring           *ring
	stdout, stderr *lineLogger
}

// NewLogSink keeps the newest max bytes and logs lines to log.
func NewLogSink(max int, log *slog.Logger) *LogSink {
	r := &ring{max: max}
	return &LogSink{ring: r,
		stdout: &lineLogger{ring: r, log: log.With("stream", "stdout")},
		stderr: &lineLogger{ring: r, log: log.With("stream", "stderr")},
	}
}

// Stdout and Stderr are the two streams' writers.
func (s *LogSink) Stdout() io.Writer { return s.stdout }
func (s *LogSink) Stderr() io.Writer { return s.stderr }

// Flush logs the streams' last lines that have no newline.
func (s *LogSink) Flush() {
	s.stdout.flush()
	s.stderr.flush()
}

// Bytes returns the newest captured output.
func (s *LogSink) Bytes() []byte { return s.ring.bytes() }
