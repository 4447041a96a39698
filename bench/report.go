package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Report is a bench result as a page people look at: a summary table,
// plots, and the raw JSON. Write lays it out as a self-contained
// index.html (plots inline, no scripts, no external files) beside each
// plot's SVG and result.json.
type Report struct {
	Title   string
	Summary [][2]string // name, value
	Plots   []Plot
	Host    Host
	Command []string
	JSON    []byte // the stamped result
}

// ReportFor builds a suite's report: plots for a capacity sweep, and for
// any suite a table of its numeric figures.
func ReportFor(suite string, result any, host Host, argv []string) (Report, error) {
	raw, err := Stamped(result, host, argv)
	if err != nil {
		return Report{}, err
	}
	r := Report{Title: "strata bench " + suite, Host: host, Command: argv, JSON: raw}
	switch res := result.(type) {
	case CapacityResult:
		r.Summary, r.Plots = capacitySummary(res), capacityPlots(res)
	case *CapacityResult:
		r.Summary, r.Plots = capacitySummary(*res), capacityPlots(*res)
	default:
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return r, err
		}
		delete(m, "host")
		delete(m, "command")
		r.Summary = flatten("", m)
	}
	return r, nil
}

// flatten lists a JSON object's scalar fields as "a.b" = value, sorted.
func flatten(prefix string, m map[string]any) [][2]string {
	var out [][2]string
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			out = append(out, flatten(name, v)...)
		case []any:
			out = append(out, [2]string{name, fmt.Sprintf("%d items (see result.json)", len(v))})
		default:
			out = append(out, [2]string{name, fmt.Sprint(v)})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func capacitySummary(r CapacityResult) [][2]string {
	verdict := fmt.Sprintf("broke the SLO at %d viewers", lastViewers(r))
	if !r.Broke {
		verdict = "never broke the SLO: the edge carries more than the sweep asked"
	}
	return [][2]string{
		{"transport", r.Transport},
		{"knee", fmt.Sprintf("%d viewers", r.KneeViewers)},
		{"viewers per core at the knee", fmt.Sprintf("%.1f", r.ViewersPerCoreAtKnee)},
		{"Gbit/s per core at the knee", fmt.Sprintf("%.3f", r.GbpsPerCoreAtKnee)},
		{"edge CPU at the knee", fmt.Sprintf("%.2f cores", r.CPUCoresAtKnee)},
		{"egress at the knee", fmt.Sprintf("%.3f Gbit/s", r.EgressGbpsAtKnee)},
		{"SLO", fmt.Sprintf("p99 ≤ %g ms, loss ≤ %g", r.SLO.P99Ms, r.SLO.Loss)},
		{"sweep", verdict},
		{"stream", fmt.Sprintf("%.2f Mbit/s, %g s per step", float64(r.BitrateBps)/1e6, r.StepSeconds)},
	}
}

func lastViewers(r CapacityResult) int {
	if len(r.Steps) == 0 {
		return 0
	}
	return r.Steps[len(r.Steps)-1].Viewers
}

func capacityPlots(r CapacityResult) []Plot {
	x := make([]float64, len(r.Steps))
	col := func(f func(CapacityStep) float64) []float64 {
		out := make([]float64, len(r.Steps))
		for i, s := range r.Steps {
			x[i], out[i] = float64(s.Viewers), f(s)
		}
		return out
	}
	var knee *PlotLine
	if r.KneeViewers > 0 {
		knee = &PlotLine{At: float64(r.KneeViewers), Label: fmt.Sprintf("knee: %d viewers", r.KneeViewers)}
	}
	line := func(v float64, label string) *PlotLine {
		if v <= 0 {
			return nil
		}
		return &PlotLine{At: v, Label: label}
	}
	return []Plot{
		{Name: "cpu", Title: "Edge CPU against viewers", XLabel: "viewers", YLabel: "CPU (cores)", Mark: knee,
			Series: []Series{{Name: "edge CPU", X: x, Y: col(func(s CapacityStep) float64 { return s.CPUCores })}}},
		{Name: "latency", Title: "Glass-to-glass latency against viewers", XLabel: "viewers", YLabel: "latency (ms)", Mark: knee,
			HLine: line(r.SLO.P99Ms, "SLO p99"),
			Series: []Series{
				{Name: "p50", X: x, Y: col(func(s CapacityStep) float64 { return s.P50Ms })},
				{Name: "p99", X: x, Y: col(func(s CapacityStep) float64 { return s.P99Ms })}}},
		{Name: "loss", Title: "Frames lost against viewers", XLabel: "viewers", YLabel: "loss (%)", Mark: knee,
			HLine:  line(100*r.SLO.Loss, "SLO loss"),
			Series: []Series{{Name: "loss", X: x, Y: col(func(s CapacityStep) float64 { return 100 * s.Loss })}}},
		{Name: "egress", Title: "Egress against viewers", XLabel: "viewers", YLabel: "Gbit/s", Mark: knee,
			Series: []Series{{Name: "egress", X: x, Y: col(func(s CapacityStep) float64 { return s.EgressGbps })}}},
	}
}

// Write creates dir and writes index.html, one SVG per plot and
// result.json into it.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n", html.EscapeString(r.Title))
	b.WriteString(`<style>body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}table{border-collapse:collapse;margin:1em 0}` +
		`td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#f4f4f4}.plots{display:flex;flex-wrap:wrap;gap:16px}` +
		`.plots figure{margin:0;border:1px solid #ddd}pre{background:#f8f8f8;padding:1em;overflow:auto;max-height:30em}code{font-size:90%}</style></head><body>` + "\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>Measured %s on %d cores (%s), kernel %s%s. Command: <code>%s</code></p>\n",
		html.EscapeString(r.Title), time.Now().UTC().Format(time.RFC3339), r.Host.Cores, html.EscapeString(r.Host.CPUModel),
		html.EscapeString(r.Host.Kernel), gpuText(r.Host), html.EscapeString(strings.Join(r.Command, " ")))
	b.WriteString("<table id=\"summary\">\n")
	for _, kv := range r.Summary {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(kv[0]), html.EscapeString(kv[1]))
	}
	b.WriteString("</table>\n<div class=\"plots\">\n")
	for _, p := range r.Plots {
		svg := p.SVG()
		if err := os.WriteFile(filepath.Join(dir, p.Name+".svg"), svg, 0o644); err != nil {
			return fmt.Errorf("bench: report: %w", err)
		}
		fmt.Fprintf(&b, "<figure id=\"plot-%s\">%s</figure>\n", html.EscapeString(p.Name), svg)
	}
	b.WriteString("</div>\n<h2>Result</h2>\n<pre>")
	var pretty bytes.Buffer
	if json.Indent(&pretty, r.JSON, "", "  ") == nil {
		b.WriteString(html.EscapeString(pretty.String()))
	}
	b.WriteString("</pre>\n</body></html>\n")
	if err := os.WriteFile(filepath.Join(dir, "result.json"), append(r.JSON, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	return nil
}

func gpuText(h Host) string {
	if len(h.GPUs) == 0 {
		return ", no GPU"
	}
	return ", GPUs: " + strings.Join(h.GPUs, ", ")
}
