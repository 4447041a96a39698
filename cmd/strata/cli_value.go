package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// sessionGetCols are the columns of one session: the list's, and when a
// restart backing off is tried next.
var sessionGetCols = append(sessionCols[:len(sessionCols):len(sessionCols)], "retry_at")

// valueFields names the field `-o value` prints for a "resource verb";
// every other verb prints id. The value is the one a script needs next:
// a join token or key to keep in a file, the CA fingerprint to pin, an
// ID to pass on.
var valueFields = map[string]string{
	"cluster join-token": "token",
	"cluster ca":         "fingerprint",
	"keys create":        "token",
	"sessions viewer":    "player_url",
}

// valueField is the field `-o value` prints for resource's verb.
func valueField(resource, verb string) string {
	if f, ok := valueFields[resource+" "+verb]; ok {
		return f
	}
	return "id"
}

// printValue prints one field of the answer, or of each item of a list,
// alone on a line, so that scripts need no JSON tool. An answer without
// it is an error (a non-zero exit), never an empty line.
func printValue(w io.Writer, raw json.RawMessage, field string) error {
	var l struct {
		Items []map[string]any `json:"items"`
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &l); err == nil && l.Items != nil {
		items = l.Items
	} else {
		var one map[string]any
		if err := json.Unmarshal(raw, &one); err != nil {
			return fmt.Errorf("-o value: the answer is not an object: %w", err)
		}
		items = []map[string]any{one}
	}
	for _, it := range items {
		v := lookup(it, field)
		if v == nil || v == "" {
			return fmt.Errorf("-o value: the answer has no %s; see it with -o json", field)
		}
		if _, err := fmt.Fprintln(w, cell(v)); err != nil {
			return err
		}
	}
	return nil
}
