package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestCompareRatiosAndNoiseBand(t *testing.T) {
	old := []byte(`{"egress_gbps":1.0,"added_latency_p99_ms":10,"dropped_objects":0,"slo":{"p99_ms":150},"steps":[1,2],
		"transport":"moq","host":{"fingerprint":"a","cores":2},"command":["x"]}`)
	neu := []byte(`{"egress_gbps":1.5,"added_latency_p99_ms":10.3,"dropped_objects":4,"slo":{"p99_ms":150},"steps":[1],
		"transport":"moq","host":{"fingerprint":"b","cores":2}}`)
	c, err := Compare(old, neu, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]CompareRow{}
	for _, r := range c.Rows {
		got[r.Name] = r
	}
	if len(got) != 4 {
		t.Fatalf("rows %+v (host, command, arrays and strings must be skipped)", c.Rows)
	}
	for name, want := range map[string]string{"egress_gbps": "better", "added_latency_p99_ms": "noise",
		"dropped_objects": "worse", "slo.p99_ms": "noise"} {
		if got[name].Verdict != want {
			t.Errorf("%s: %+v, want %s", name, got[name], want)
		}
	}
	if got["egress_gbps"].Ratio != 1.5 || !math.IsInf(got["dropped_objects"].Ratio, 1) || !c.HostsDiffer {
		t.Fatalf("comparison %+v", c)
	}
	var buf bytes.Buffer
	if err := c.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "egress_gbps") || !strings.Contains(buf.String(), "different hardware") {
		t.Fatalf("table:\n%s", buf.String())
	}
	if _, err := Compare([]byte("[]"), neu, 0.05); err == nil {
		t.Fatal("compared a non-object")
	}
}
