package gpu

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseFakeSpec parses the part after "fake:" (grammar in the package doc)
// into synthetic GPUs with deterministic UUIDs.
func ParseFakeSpec(spec string) ([]GPU, error) {
	if spec == "" {
		return nil, fmt.Errorf("%w: empty fake spec (want e.g. fake:4xH200:141GB)", ErrBadSpec)
	}
	var gpus []GPU
	for gi, group := range strings.Split(spec, ",") {
		count, model, memMB, err := parseGroup(strings.TrimSpace(group))
		if err != nil {
			return nil, fmt.Errorf("%w: group %d %q: %w", ErrBadSpec, gi+1, group, err)
		}
		if len(gpus)+count > maxGPUs {
			return nil, fmt.Errorf("%w: more than %d GPUs in total", ErrBadSpec, maxGPUs)
		}
		for range count {
			i := len(gpus)
			gpus = append(gpus, GPU{
				Index:         i,
				UUID:          fmt.Sprintf("GPU-fake-%04d-%s", i, model),
				Model:         model,
				MemoryTotalMB: memMB,
			})
		}
	}
	return gpus, nil
}

func parseGroup(g string) (count int, model string, memMB int64, err error) {
	x := strings.IndexAny(g, "xX")
	if x <= 0 {
		return 0, "", 0, fmt.Errorf("want COUNTxMODEL:MEMGB")
	}
	count, err = strconv.Atoi(g[:x])
	if err != nil || count < 1 || count > maxGPUs {
		return 0, "", 0, fmt.Errorf("count %q must be 1..%d", g[:x], maxGPUs)
	}
	rest := g[x+1:]
	colon := strings.LastIndexByte(rest, ':')
	if colon < 0 {
		return 0, "", 0, fmt.Errorf("missing \":MEMGB\"")
	}
	model, mem := rest[:colon], rest[colon+1:]
	if len(model) == 0 || len(model) > 32 {
		return 0, "", 0, fmt.Errorf("model %q must be 1..32 characters", model)
	}
	for _, r := range model {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return 0, "", 0, fmt.Errorf("model %q has character %q (allowed: A-Z a-z 0-9 . _ -)", model, r)
		}
	}
	if len(mem) < 3 || !strings.EqualFold(mem[len(mem)-2:], "GB") {
		return 0, "", 0, fmt.Errorf("memory %q must end in GB", mem)
	}
	gb, err := strconv.Atoi(mem[:len(mem)-2])
	if err != nil || gb < 1 || gb > 4096 {
		return 0, "", 0, fmt.Errorf("memory %q must be 1..4096 GB", mem)
	}
	return count, model, int64(gb) * 1024, nil
}
