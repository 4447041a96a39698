package gpu

import (
	"errors"
	"testing"
)

func TestParseFakeSpec(t *testing.T) {
	tests := []struct {
		spec    string
		models  []string
		memMB   int64
		wantErr bool
	}{
		{spec: "4xH200:141GB", models: []string{"H200", "H200", "H200", "H200"}, memMB: 141 * 1024},
		{spec: "2xA10G:24GB,1xL4:24GB", models: []string{"A10G", "A10G", "L4"}, memMB: 24 * 1024},
		{spec: "1XRTX-6000.Ada:48gb", models: []string{"RTX-6000.Ada"}, memMB: 48 * 1024},
		{spec: "", wantErr: true},
		{spec: "H200:141GB", wantErr: true},
		{spec: "0xH200:141GB", wantErr: true},
		{spec: "65xH200:141GB", wantErr: true},
		{spec: "4xH200", wantErr: true},
		{spec: "4xH200:141", wantErr: true},
		{spec: "4xH200:0GB", wantErr: true},
		{spec: "4xH 200:141GB", wantErr: true},
		{spec: "4x:141GB", wantErr: true},
		{spec: "40xA:1GB,40xB:1GB", wantErr: true},
		{spec: "4xH200:141GB,", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFakeSpec(tt.spec)
			if tt.wantErr {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("err = %v, want ErrBadSpec", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.models) {
				t.Fatalf("got %d gpus, want %d", len(got), len(tt.models))
			}
			seen := map[string]bool{}
			for i, g := range got {
				if g.Index != i || g.Model != tt.models[i] || seen[g.UUID] {
					t.Errorf("gpu %d = %+v", i, g)
				}
				seen[g.UUID] = true
			}
			if got[0].MemoryTotalMB != tt.memMB {
				t.Errorf("memory = %d, want %d", got[0].MemoryTotalMB, tt.memMB)
			}
		})
	}
}

func FuzzParseFakeSpec(f *testing.F) {
	for _, s := range []string{"4xH200:141GB", "2xA10G:24GB,1xL4:24GB", "1xX:1GB", "x:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		gpus, err := ParseFakeSpec(spec)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if len(gpus) == 0 || len(gpus) > maxGPUs {
			t.Fatalf("%d gpus from %q", len(gpus), spec)
		}
	})
}
