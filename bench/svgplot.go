package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
)

// Plot is a line chart drawn as SVG without any library, so reports are
// self-contained files that need nothing but a browser.
type Plot struct {
	Name   string // file name stem of its SVG
	Title  string
	XLabel string
	YLabel string
	Series []Series
	// Mark draws a dashed vertical line at X = Mark.At labelled
	// Mark.Label (the knee); HLine a dashed horizontal one (an SLO).
	Mark  *PlotLine
	HLine *PlotLine
}

// Series is one line of a Plot.
type Series struct {
	Name string
	X, Y []float64
}

// PlotLine is a labelled reference line.
type PlotLine struct {
	At    float64
	Label string
}

// plotColors are the series' colours, in order.
var plotColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

const (
	plotW, plotH                  = 640, 360
	padL, padR, padTop, padBottom = 70, 20, 56, 50
)

// SVG renders the plot.
func (p Plot) SVG() []byte {
	x0, x1, y0, y1 := p.bounds()
	sx := func(x float64) float64 { return padL + (x-x0)/(x1-x0)*(plotW-padL-padR) }
	sy := func(y float64) float64 { return plotH - padBottom - (y-y0)/(y1-y0)*(plotH-padTop-padBottom) }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/><text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`, padL, html.EscapeString(p.Title))
	// Axes, ticks and grid.
	for _, t := range ticks(x0, x1) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			sx(t), padTop, sx(t), plotH-padBottom, sx(t), plotH-padBottom+16, tickLabel(t))
	}
	for _, t := range ticks(y0, y1) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			padL, sy(t), plotW-padR, sy(t), padL-6, sy(t)+4, tickLabel(t))
	}
	fmt.Fprintf(&b, `<polyline points="%d,%d %d,%d %d,%d" fill="none" stroke="#333"/>`, padL, padTop, padL, plotH-padBottom, plotW-padR, plotH-padBottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, (padL+plotW-padR)/2, plotH-12, html.EscapeString(p.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s</text>`, (padTop+plotH-padBottom)/2, html.EscapeString(p.YLabel))
	if l := p.HLine; l != nil {
		fmt.Fprintf(&b, `<line class="slo" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999" stroke-dasharray="6 4"/><text x="%d" y="%.1f" text-anchor="end" fill="#666">%s</text>`,
			padL, sy(l.At), plotW-padR, sy(l.At), plotW-padR-4, sy(l.At)-4, html.EscapeString(l.Label))
	}
	if m := p.Mark; m != nil {
		fmt.Fprintf(&b, `<line class="knee" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e377c2" stroke-width="2" stroke-dasharray="6 4"/><text x="%.1f" y="%d" fill="#e377c2">%s</text>`,
			sx(m.At), padTop, sx(m.At), plotH-padBottom, sx(m.At)+4, padTop+12, html.EscapeString(m.Label))
	}
	for i, s := range p.Series {
		c := plotColors[i%len(plotColors)]
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + c + `" points="`)
		for j := range min(len(s.X), len(s.Y)) {
			fmt.Fprintf(&b, "%.1f,%.1f ", sx(s.X[j]), sy(s.Y[j]))
		}
		b.WriteString(`"/>`)
		for j := range min(len(s.X), len(s.Y)) {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>`,
				sx(s.X[j]), sy(s.Y[j]), c, html.EscapeString(s.Name), tickLabel(s.Y[j]), tickLabel(s.X[j]))
		}
		// The legend is one row under the title, clear of the plot area.
		fmt.Fprintf(&b, `<rect x="%d" y="36" width="12" height="3" fill="%s"/><text x="%d" y="41">%s</text>`,
			padL+110*i, c, padL+110*i+16, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// bounds spans every point and reference line, from zero on both axes
// (capacity plots read best from the origin), with a little headroom.
func (p Plot) bounds() (x0, x1, y0, y1 float64) {
	for _, s := range p.Series {
		for _, v := range s.X {
			x1 = max(x1, v)
		}
		for _, v := range s.Y {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				y1 = max(y1, v)
			}
		}
	}
	if p.Mark != nil {
		x1 = max(x1, p.Mark.At)
	}
	if p.HLine != nil {
		y1 = max(y1, p.HLine.At)
	}
	if x1 <= 0 {
		x1 = 1
	}
	if y1 <= 0 {
		y1 = 1
	}
	return 0, x1 * 1.05, 0, y1 * 1.1
}

// ticks returns about five round values between lo and hi.
func ticks(lo, hi float64) []float64 {
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, t)
	}
	return out
}

func tickLabel(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}
