package bench

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/strata-edge/strata/internal/capacity"
)

// Host is the hardware a result was measured on.
type Host = capacity.Host

// ThisHost describes the machine this process runs on.
func ThisHost() Host { return capacity.ThisHost() }

// Stamped is a suite's JSON result with the host it ran on and the
// command line that produced it appended as "host" and "command", so a
// file read later says where it came from. The result's own fields keep
// their order.
func Stamped(result any, host Host, argv []string) ([]byte, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' {
		return nil, fmt.Errorf("bench: a result must be a JSON object, got %.20s", raw)
	}
	extra, err := json.Marshal(struct {
		Host    Host     `json:"host"`
		Command []string `json:"command"`
	}{host, argv})
	if err != nil {
		return nil, err
	}
	body := raw[:len(raw)-1]
	if len(bytes.TrimSpace(body)) > 1 {
		body = append(body, ',')
	}
	return append(body, extra[1:]...), nil
}
