package origin

import (
	"context"
	"strconv"
	"time"
	"unicode"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ids"
)

// Limits on user-supplied values, so nothing unbounded reaches the log.
const (
	maxNameLen    = 128
	maxLabels     = 32
	maxLabelKey   = 63
	maxLabelValue = 255
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

// checkRange refuses a number below 0 or above max (one of the api.Max
// bounds), naming the field.
func checkRange(field string, v, max int64) error {
	switch {
	case v < 0:
		return badRequest("%s: must not be negative", field)
	case v > max:
		return badRequest("%s: at most %d", field, max)
	}
	return nil
}

// firstErr returns the first non-nil error of checks.
func firstErr(checks ...error) error {
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// validLocation reports whether lat and lon are degrees in range.
func validLocation(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// idParam reads a path ID and rejects malformed ones with 400.
func idParam(c *call, name, prefix string) (string, error) {
	id := pathParam(c, name)
	if !ids.Valid(prefix, id) {
		return "", api.Errorf(400, api.CodeInvalidID, "%s %q is not a valid ID (want %s_ followed by 26 characters)", name, truncate(id, 80), prefix)
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// page reads limit and cursor query parameters. A cursor is a next_cursor
// the same list answered, the ID of its last item: valid says whether a
// value has the form of the list's IDs. Anything else (a typo, a cursor
// of another list) is refused rather than read as a position, which
// would answer a wrong page with 200.
func page(c *call, valid func(string) bool) (limit int, cursor string, err error) {
	limit = api.DefaultListLimit
	if v := c.ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		n, perr := strconv.Atoi(string(v))
		if perr != nil || n < 1 || n > api.MaxListLimit {
			return 0, "", badRequest("limit: must be an integer from 1 to %d", api.MaxListLimit)
		}
		limit = n
	}
	cursor = string(c.ctx.QueryArgs().Peek("cursor"))
	if cursor != "" && !valid(cursor) {
		return 0, "", badRequest("cursor: %q is not a next_cursor of this list; pass the next_cursor value of the previous page as is", truncate(cursor, 80))
	}
	return limit, cursor, nil
}

// idOf checks IDs with the given prefix (see ids.Valid), as cursors.
func idOf(prefix string) func(string) bool {
	return func(id string) bool { return ids.Valid(prefix, id) }
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
// after the wait (default 30 s, at most api.MaxWait) or with the call.
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
	wait := api.DefaultWait
	if v := args.Peek("wait"); len(v) > 0 {
		if wait, err = time.ParseDuration(string(v)); err != nil || wait < 0 {
			return nil, 0, nil, badRequest("wait: must be a duration such as 30s")
		}
	}
	ctx, cancel := context.WithTimeout(c.cx, min(wait, api.MaxWait))
	return ctx, idx, cancel, nil
}

// pageOf cuts a list answer to limit items; items holds one more when a
// next page exists.
func pageOf[T any](items []T, cursor func(T) string, limit int) api.List[T] {
	if items == nil {
		items = []T{}
	}
	l := api.List[T]{Items: items}
	if len(items) > limit {
		l.Items = items[:limit]
		l.NextCursor = cursor(items[limit-1])
	}
	return l
}
