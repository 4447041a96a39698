package origin

import (
	"context"
	"strconv"
	"time"
	"unicode"

	"github.com/strata-edge/strata/internal/ids"
)

// Limits on user-supplied values, so nothing unbounded reaches the log.
const (
	maxNameLen    = 128
	maxLabels     = 32
	maxLabelKey   = 63
	maxLabelValue = 255
	maxListLimit  = 1000
	defListLimit  = 100
	maxWait       = 60 * time.Second
)

func checkName(field, v string) error {
	if v == "" || len(v) > maxNameLen {
		return badRequest("%s: must be 1 to %d characters", field, maxNameLen)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return badRequest("%s: must be printable text", field)
		}
	}
	return nil
}

func checkLabels(field string, m map[string]string) error {
	if len(m) > maxLabels {
		return badRequest("%s: at most %d labels", field, maxLabels)
	}
	for k, v := range m {
		if k == "" || len(k) > maxLabelKey || len(v) > maxLabelValue {
			return badRequest("%s: keys must be 1 to %d characters and values at most %d", field, maxLabelKey, maxLabelValue)
		}
	}
	return nil
}

func checkNonNegative(field string, v int64) error {
	if v < 0 {
		return badRequest("%s: must not be negative", field)
	}
	return nil
}

// idParam reads a path ID and rejects malformed ones with 400.
func idParam(c *call, name, prefix string) (string, error) {
	id := pathParam(c, name)
	if !ids.Valid(prefix, id) {
		return "", errf(400, codeInvalidID, "%s %q is not a valid ID (want %s_ followed by 26 characters)", name, truncate(id, 80), prefix)
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// page reads limit and cursor query parameters.
func page(c *call) (limit int, cursor string, err error) {
	limit = defListLimit
	if v := c.ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		n, perr := strconv.Atoi(string(v))
		if perr != nil || n < 1 || n > maxListLimit {
			return 0, "", badRequest("limit: must be an integer from 1 to %d", maxListLimit)
		}
		limit = n
	}
	cursor = string(c.ctx.QueryArgs().Peek("cursor"))
	if len(cursor) > 64 {
		return 0, "", badRequest("cursor: too long")
	}
	return limit, cursor, nil
}

// block implements Consul-style blocking queries: with ?index=N, wait
// (up to ?wait=, default 30 s, at most 60 s) until the registry has moved
// past N.
func (o *Origin) block(c *call) error {
	ctx, idx, cancel, err := blockingQuery(c)
	if err != nil || ctx == nil {
		return err
	}
	defer cancel()
	o.reg.State().WaitIndex(ctx, idx)
	return nil
}

// blockingQuery reads ?index= and ?wait= of a blocking query: a nil
// context means the call did not ask to block; otherwise the context ends
// after the wait (default 30 s, at most maxWait) or with the call.
func blockingQuery(c *call) (context.Context, uint64, context.CancelFunc, error) {
	args := c.ctx.QueryArgs()
	raw := args.Peek("index")
	if len(raw) == 0 {
		return nil, 0, nil, nil
	}
	idx, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return nil, 0, nil, badRequest("index: must be a non-negative integer")
	}
	wait := 30 * time.Second
	if v := args.Peek("wait"); len(v) > 0 {
		if wait, err = time.ParseDuration(string(v)); err != nil || wait < 0 {
			return nil, 0, nil, badRequest("wait: must be a duration such as 30s")
		}
	}
	ctx, cancel := context.WithTimeout(c.cx, min(wait, maxWait))
	return ctx, idx, cancel, nil
}

// list is the JSON shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func pageOf[T any](items []T, cursor func(T) string, limit int) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Items: items}
	if len(items) > limit {
		l.Items = items[:limit]
		l.NextCursor = cursor(items[limit-1])
	}
	return l
}
