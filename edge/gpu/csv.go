package gpu

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxGPUs bounds what a parser accepts so malformed input cannot make the
// node allocate without limit.
const maxGPUs = 64

// ParseCSV parses `nvidia-smi --query-gpu=<QueryFields>
// --format=csv,noheader,nounits`. Rows with only the first six columns
// (no encoder/decoder) are accepted, with EncoderPct and DecoderPct set to
// NotReported. Unit suffixes (" MiB", " %") are tolerated so output taken
// without "nounits" also parses; a header row is skipped.
func ParseCSV(data []byte) ([]GPU, error) {
	var gpus []GPU
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "index") {
			continue
		}
		if len(gpus) == maxGPUs {
			return nil, fmt.Errorf("%w: more than %d GPUs", ErrParseCSV, maxGPUs)
		}
		g, err := parseRow(text)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrParseCSV, line, err)
		}
		gpus = append(gpus, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParseCSV, err)
	}
	return gpus, nil
}

func parseRow(text string) (GPU, error) {
	f := strings.Split(text, ",")
	if len(f) != 6 && len(f) != len(QueryFields) {
		return GPU{}, fmt.Errorf("got %d fields, want 6 or %d", len(f), len(QueryFields))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	idx, err := strconv.Atoi(f[0])
	if err != nil || idx < 0 || idx >= 1<<16 {
		return GPU{}, fmt.Errorf("index %q is not a small non-negative integer", f[0])
	}
	if f[1] == "" || notReported(f[1]) {
		return GPU{}, fmt.Errorf("gpu %d has no uuid", idx)
	}
	g := GPU{Index: idx, UUID: f[1], Model: f[2], EncoderPct: NotReported, DecoderPct: NotReported}
	if g.MemoryTotalMB, err = number(f[3], "MiB", math.MaxInt32); err != nil {
		return GPU{}, fmt.Errorf("memory.total: %w", err)
	}
	if g.MemoryUsedMB, err = number(f[4], "MiB", math.MaxInt32); err != nil {
		return GPU{}, fmt.Errorf("memory.used: %w", err)
	}
	pct := []*int{&g.UtilizationPct, &g.EncoderPct, &g.DecoderPct}
	names := []string{"utilization.gpu", "utilization.encoder", "utilization.decoder"}
	for i := 5; i < len(f); i++ {
		v, err := number(f[i], "%", 100)
		if err != nil {
			return GPU{}, fmt.Errorf("%s: %w", names[i-5], err)
		}
		*pct[i-5] = int(v)
	}
	return g, nil
}

// notReported recognises nvidia-smi's placeholders for missing values.
func notReported(s string) bool {
	return strings.HasPrefix(s, "[") || s == "N/A" || s == "Not Supported"
}

// number parses a non-negative integer (or a decimal, rounded) with an
// optional unit suffix, returning NotReported for nvidia-smi placeholders.
func number(s, unit string, max int64) (int64, error) {
	if notReported(s) {
		return NotReported, nil
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, unit))
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 || v > max {
			return 0, fmt.Errorf("%d out of range 0..%d", v, max)
		}
		return v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > float64(max) {
		return 0, fmt.Errorf("%q is not a number in 0..%d", s, max)
	}
	return int64(math.Round(v)), nil
}
