package bench

import (
	"encoding/json"
	"runtime"
	"testing"
)

func TestStampedKeepsFieldsAndAddsHostAndCommand(t *testing.T) {
	h := ThisHost()
	if h.Cores != runtime.NumCPU() || h.Fingerprint == "" {
		t.Fatalf("host %+v", h)
	}
	if runtime.GOOS == "linux" && (h.Kernel == "" || h.CPUModel == "") {
		t.Fatalf("linux host without kernel or CPU model: %+v", h)
	}
	for _, res := range []any{struct {
		A int `json:"a"`
	}{7}, struct{}{}} {
		raw, err := Stamped(res, h, []string{"strata-bench", "fanout", "--json"})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			A       int      `json:"a"`
			Host    Host     `json:"host"`
			Command []string `json:"command"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got.Host.Fingerprint != h.Fingerprint || len(got.Command) != 3 {
			t.Fatalf("stamped %s", raw)
		}
	}
	if _, err := Stamped([]int{1}, h, nil); err == nil {
		t.Fatal("stamped a JSON array")
	}
}
