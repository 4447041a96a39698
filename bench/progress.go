package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress reports what a long benchmark is doing, one line per step, so
// a person watching the terminal sees it move. A nil Progress is silent.
type Progress struct {
	W     io.Writer
	start time.Time
	// barShown is whether the last thing written was a bar line, which
	// the next write replaces (terminals only).
	barShown bool
}

// Step prints a timestamped line.
func (p *Progress) Step(format string, args ...any) {
	if p == nil || p.W == nil {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.clearBar()
	fmt.Fprintf(p.W, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// Bar shows done of total on a terminal as a bar redrawn in place; on
// anything else (a file, a pipe, CI) it prints nothing, since the Step
// lines already say the same.
func (p *Progress) Bar(done, total int, label string) {
	if p == nil || p.W == nil || total <= 0 {
		return
	}
	f, ok := p.W.(*os.File)
	if !ok || !isTerminal(f) {
		return
	}
	const width = 30
	fill := min(width, done*width/total)
	fmt.Fprintf(p.W, "\r\x1b[K[%s%s] %d/%d %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total, label)
	p.barShown = true
	if done >= total {
		fmt.Fprintln(p.W)
		p.barShown = false
	}
}

func (p *Progress) clearBar() {
	if p.barShown {
		fmt.Fprint(p.W, "\r\x1b[K")
		p.barShown = false
	}
}
