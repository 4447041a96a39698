package logging

import (
	"context"
	"log/slog"
)

// uniqueKeys is a handler on which a key set again replaces its earlier
// value instead of repeating it: a component that names itself on a logger
// its caller already named ("component", "edge") logs one component, its
// own. Attributes are held until a record is written, then merged in order
// with the record's; a group starts a fresh set inside it.
type uniqueKeys struct {
	inner slog.Handler
	attrs []slog.Attr
}

var _ slog.Handler = (*uniqueKeys)(nil)

// Unique wraps h so that every key appears at most once per line (per
// group), the last value set winning.
func Unique(h slog.Handler) slog.Handler { return &uniqueKeys{inner: h} }

func (h *uniqueKeys) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *uniqueKeys) WithAttrs(as []slog.Attr) slog.Handler {
	return &uniqueKeys{inner: h.inner, attrs: mergeAttrs(h.attrs, as)}
}

func (h *uniqueKeys) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &uniqueKeys{inner: h.inner.WithAttrs(h.attrs).WithGroup(name)}
}

func (h *uniqueKeys) Handle(ctx context.Context, r slog.Record) error {
	rec := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		rec = append(rec, a)
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(mergeAttrs(h.attrs, rec)...)
	return h.inner.Handle(ctx, out)
}

// mergeAttrs appends add to base (never modifying base), a key already
// present taking the new value in its first position.
func mergeAttrs(base, add []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(base), len(base)+len(add))
	copy(out, base)
next:
	for _, a := range add {
		if a.Key == "" {
			out = append(out, a) // an inlined group: its keys are its own
			continue
		}
		for i := range out {
			if out[i].Key == a.Key {
				out[i] = a
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}
