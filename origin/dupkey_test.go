package origin

import "testing"

// TestDuplicateKey finds a key named twice in one object at any depth,
// and only then: the same key in two objects is fine.
func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		body, key string
		dup       bool
	}{
		{`{"name":"a"}`, "", false},
		{`{"name":"a","name":"b"}`, "name", true},
		{`{"name":"a","quota":{"max_gpus":1,"max_gpus":2}}`, "quota.max_gpus", true},
		{`{"quota":{"max_gpus":1},"labels":{"max_gpus":"1"}}`, "", false},
		{`{"gpus":[{"index":0},{"index":0}]}`, "", false},
		{`{"gpus":[{"index":0,"model":"L4","index":1}]}`, "gpus[].index", true},
		{`{"a":[[{"b":1}],{"c":{"d":[1,{"e":1,"e":1}]}}]}`, "a[].c.d[].e", true},
		{`{"":1,"":2}`, "", true},
		{`{"a":{},"b":[],"a":null}`, "a", true},
		{`[{"x":1},{"x":1}]`, "", false},
		{`{"name":"a"`, "", false}, // malformed: decode reports it
	} {
		key, dup := duplicateKey([]byte(tc.body))
		if key != tc.key || dup != tc.dup {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q, %v", tc.body, key, dup, tc.key, tc.dup)
		}
	}
}
