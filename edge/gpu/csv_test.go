package gpu

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseCSVCaptured(t *testing.T) {
	// Real capture from an H200 (six columns: no encoder/decoder).
	data, err := os.ReadFile(filepath.Join("testdata", "query-gpu-noheader.csv"))
	if err != nil {
		t.Fatal(err)
	}
	gpus, err := ParseCSV(data)
	if err != nil {
		t.Fatal(err)
	}
	want := GPU{Index: 0, UUID: "GPU-d55dcc89-82dc-1180-aaed-26b75c907cf9", Model: "NVIDIA H200",
		MemoryTotalMB: 143771, MemoryUsedMB: 0, UtilizationPct: 0, EncoderPct: NotReported, DecoderPct: NotReported}
	if len(gpus) != 1 || gpus[0] != want {
		t.Fatalf("got %+v, want %+v", gpus, want)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "full row", in: "0, GPU-a, NVIDIA H200, 143771, 1024, 37, 12, 5\n",
			want: []GPU{{0, "GPU-a", "NVIDIA H200", 143771, 1024, 37, 12, 5}}},
		{name: "units tolerated", in: "1, GPU-b, NVIDIA L4, 23034 MiB, 3 MiB, 4 %, 0 %, 0 %\n",
			want: []GPU{{1, "GPU-b", "NVIDIA L4", 23034, 3, 4, 0, 0}}},
		{name: "not supported and N/A", in: "0, GPU-c, NVIDIA A100, 81920, [N/A], [Not Supported], [N/A], [Not Supported]\n",
			want: []GPU{{0, "GPU-c", "NVIDIA A100", 81920, NotReported, NotReported, NotReported, NotReported}}},
		{name: "header skipped, two gpus", in: "index, uuid, name, memory.total [MiB]\n0, GPU-a, X, 1, 0, 0, 0, 0\r\n1, GPU-b, X, 1, 0, 0, 0, 0\n",
			want: []GPU{{0, "GPU-a", "X", 1, 0, 0, 0, 0}, {1, "GPU-b", "X", 1, 0, 0, 0, 0}}},
		{name: "too few fields", in: "0, GPU-a, X\n", wantErr: true},
		{name: "bad index", in: "x, GPU-a, X, 1, 0, 0, 0, 0\n", wantErr: true},
		{name: "missing uuid", in: "0, [N/A], X, 1, 0, 0, 0, 0\n", wantErr: true},
		{name: "pct over 100", in: "0, GPU-a, X, 1, 0, 101, 0, 0\n", wantErr: true},
		{name: "negative memory", in: "0, GPU-a, X, -5, 0, 0, 0, 0\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrParseCSV) {
					t.Fatalf("err = %v, want ErrParseCSV", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("gpu %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"query-gpu-noheader.csv", "query-8-h200-synth.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gpus, err := ParseCSV(data)
		if err != nil {
			if !errors.Is(err, ErrParseCSV) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if len(gpus) > maxGPUs {
			t.Fatalf("%d gpus", len(gpus))
		}
		for _, g := range gpus {
			if g.UUID == "" || g.UtilizationPct > 100 || g.EncoderPct > 100 || g.DecoderPct > 100 ||
				g.UtilizationPct < NotReported || g.MemoryTotalMB < NotReported {
				t.Fatalf("invalid gpu accepted: %+v", g)
			}
		}
	})
}
