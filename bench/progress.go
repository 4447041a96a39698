package bench

import (
	"fmt"
	"io"
	"time"
)

// Progress reports what a long benchmark is doing, one line per step, so
// a person watching the terminal sees it move. A nil Progress is silent.
type Progress struct {
	W     io.Writer
	start time.Time
}

// Step prints a timestamped line.
func (p *Progress) Step(format string, args ...any) {
	if p == nil || p.W == nil {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	fmt.Fprintf(p.W, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
