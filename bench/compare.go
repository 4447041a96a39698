package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// CompareRow is one figure present in both results of an A/B comparison.
type CompareRow struct {
	Name  string  `json:"name"`
	Old   float64 `json:"old"`
	New   float64 `json:"new"`
	Ratio float64 `json:"ratio"` // New/Old; +Inf when Old is 0 and New is not
	// Verdict is "noise" inside the band, else "better" or "worse" by
	// the figure's direction (latency, loss, CPU and drops are better
	// lower; everything else higher).
	Verdict string `json:"verdict"`
}

// Comparison is `strata bench compare`'s result.
type Comparison struct {
	Noise float64      `json:"noise"` // the band: |ratio-1| ≤ Noise is noise
	Rows  []CompareRow `json:"rows"`
	// HostsDiffer warns that the two runs were on different hardware.
	HostsDiffer bool `json:"hosts_differ"`
}

// Compare lines up the numeric fields of two bench JSON results (nested
// objects flattened to a.b, arrays and the stamped host and command
// skipped) and gives each a ratio and a verdict against a noise band.
func Compare(oldJSON, newJSON []byte, noise float64) (Comparison, error) {
	var o, n map[string]any
	if err := json.Unmarshal(oldJSON, &o); err != nil {
		return Comparison{}, fmt.Errorf("bench: old result: %w", err)
	}
	if err := json.Unmarshal(newJSON, &n); err != nil {
		return Comparison{}, fmt.Errorf("bench: new result: %w", err)
	}
	c := Comparison{Noise: noise, HostsDiffer: fingerprintOf(o) != fingerprintOf(n)}
	of, nf := numbers("", o), numbers("", n)
	for name, ov := range of {
		nv, ok := nf[name]
		if !ok {
			continue
		}
		c.Rows = append(c.Rows, compareRow(name, ov, nv, noise))
	}
	slices.SortFunc(c.Rows, func(a, b CompareRow) int { return strings.Compare(a.Name, b.Name) })
	return c, nil
}

func compareRow(name string, ov, nv, noise float64) CompareRow {
	r := CompareRow{Name: name, Old: ov, New: nv, Verdict: "noise"}
	switch {
	case ov == nv:
		r.Ratio = 1
	case ov == 0:
		r.Ratio = math.Inf(1)
	default:
		r.Ratio = nv / ov
	}
	if math.Abs(r.Ratio-1) <= noise {
		return r
	}
	up := r.Ratio > 1
	if lowerIsBetter(name) {
		up = !up
	}
	r.Verdict = map[bool]string{true: "better", false: "worse"}[up]
	return r
}

// lowerIsBetter guesses a figure's direction from its name.
func lowerIsBetter(name string) bool {
	for _, s := range []string{"latency", "_ms", "loss", "lost", "dropped", "freezes", "cpu_cores", "rss", "errors", "seconds"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func fingerprintOf(m map[string]any) string {
	h, _ := m["host"].(map[string]any)
	f, _ := h["fingerprint"].(string)
	return f
}

// numbers flattens a JSON object's numeric fields.
func numbers(prefix string, m map[string]any) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if prefix == "" && (k == "host" || k == "command") {
			continue
		}
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch v := v.(type) {
		case float64:
			out[name] = v
		case map[string]any:
			for kk, vv := range numbers(name, v) {
				out[kk] = vv
			}
		}
	}
	return out
}

// WriteTable prints the comparison as an aligned table.
func (c Comparison) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FIGURE\tOLD\tNEW\tNEW/OLD\tVERDICT (noise band ±%.0f%%)\n", 100*c.Noise)
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.3f\t%s\n", r.Name, r.Old, r.New, r.Ratio, r.Verdict)
	}
	if c.HostsDiffer {
		fmt.Fprintln(tw, "warning: the two results come from different hardware (host fingerprints differ)")
	}
	return tw.Flush()
}

// MarshalJSON writes an infinite ratio (a figure that was zero) as null,
// which JSON can carry.
func (r CompareRow) MarshalJSON() ([]byte, error) {
	type plain CompareRow
	var ratio *float64
	if !math.IsInf(r.Ratio, 0) {
		ratio = &r.Ratio
	}
	return json.Marshal(struct {
		plain
		Ratio *float64 `json:"ratio"`
	}{plain(r), ratio})
}
