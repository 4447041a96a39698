package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
)

// clientFlags are shared by every client command.
type clientFlags struct {
	addr, token, output string
	caFile, caPin       string
}

func (f *clientFlags) bind(fs *flag.FlagSet) {
	addr := os.Getenv("STRATA_ADDR")
	if addr == "" {
		addr = "127.0.0.1:7070"
	}
	fs.StringVar(&f.addr, "addr", addr, "origin API address(es), comma-separated ($STRATA_ADDR)")
	fs.StringVar(&f.token, "token", os.Getenv("STRATA_TOKEN"), "API key ($STRATA_TOKEN)")
	fs.StringVar(&f.output, "o", "table", "output: table, json, or value: only the value a script needs (a join token, a key's token, the CA fingerprint, else the ID), nothing when it is missing and a non-zero exit")
	fs.StringVar(&f.caFile, "ca-file", os.Getenv("STRATA_CA_FILE"), "cluster CA certificate `file` to trust, e.g. <origin data dir>/pki/ca.crt ($STRATA_CA_FILE)")
	fs.StringVar(&f.caPin, "ca-fingerprint", os.Getenv("STRATA_CA_FINGERPRINT"), "trust the cluster CA with this sha256 `fingerprint` ($STRATA_CA_FINGERPRINT)")
}

// client makes the API client. Origins serve HTTPS with the cluster CA's
// certificates: the CLI trusts that CA from a file or by its pinned
// fingerprint. An address written http://host:port speaks plaintext, for
// clusters run with pki.disable.
func (f *clientFlags) client() (*api.Client, error) {
	addrs := strings.Split(f.addr, ",")
	c := api.New(f.token, addrs...)
	if strings.HasPrefix(addrs[0], "http://") {
		return c, nil
	}
	switch {
	case f.caFile != "":
		b, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		ca, err := pki.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("--ca-file %s: %w", f.caFile, err)
		}
		return c.WithTLS(pki.TrustConfig(ca)), nil
	case f.caPin != "":
		return c.WithTLS(pki.PinnedConfig(f.caPin)), nil
	}
	return nil, usagef("origins serve HTTPS with the cluster CA: give --ca-file (or $STRATA_CA_FILE), e.g. <origin data dir>/pki/ca.crt, or --ca-fingerprint (or $STRATA_CA_FINGERPRINT) as printed by the bootstrap origin; write the address as http://HOST:PORT for a cluster run with pki.disable")
}

// resource is a client command over one kind of API object.
type resource struct {
	name    string
	summary string
	verbs   map[string]verb
}

// verb is one action, e.g. "tenants create".
type verb struct {
	args  string // positional argument synopsis
	help  string
	flags builder
	// columns picks table columns from each JSON item.
	columns []string
	// nested, if set, prints a list inside the response as a second table.
	nested *nestedTable
}

// nestedTable is a list of objects inside a response, such as the peers
// of cluster status, printed below the response's own table.
type nestedTable struct {
	key     string
	columns []string
}

func init() {
	for _, r := range resources() {
		commands[r.name] = command{r.summary, r.run}
	}
}

func (r resource) run(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		r.usage(os.Stderr)
		if len(args) == 0 {
			return usagef("missing action")
		}
		return nil
	}
	v, ok := r.verbs[args[0]]
	if !ok {
		r.usage(os.Stderr)
		return usagef("unknown action %q", args[0])
	}
	fs := flag.NewFlagSet(r.name+" "+args[0], flag.ContinueOnError)
	var cf clientFlags
	cf.bind(fs)
	build := v.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata %s %s [flags] %s\n\n%s\n\nFlags:\n", r.name, args[0], v.args, v.help)
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	call, err := build(positional)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client, err := cf.client()
	if err != nil {
		return err
	}
	res, err := call(ctx, client)
	if err != nil || res == nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if cf.output == "value" {
		return printValue(os.Stdout, out, valueField(r.name, args[0]))
	}
	return render(os.Stdout, cf.output, out, v.columns, v.nested)
}

func (r resource) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: strata %s <action> [flags]\n\nActions:\n", r.name)
	for _, name := range slices.Sorted(maps.Keys(r.verbs)) {
		v := r.verbs[name]
		fmt.Fprintf(w, "  %-10s %-20s %s\n", name, v.args, v.help)
	}
}

// render prints JSON as is, or as a table of the chosen columns (and
// then the nested list's table, if any).
func render(w io.Writer, format string, raw json.RawMessage, columns []string, nested *nestedTable) error {
	if len(raw) == 0 {
		return nil
	}
	if format == "json" || len(columns) == 0 {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if format != "table" {
		return usagef("-o %q: want table or json", format)
	}
	var items []map[string]any
	var l struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(raw, &l); err == nil && l.Items != nil {
		items = l.Items
	} else {
		var one map[string]any
		if err := json.Unmarshal(raw, &one); err != nil {
			return err
		}
		items = []map[string]any{one}
	}
	if err := writeTable(w, columns, items); err != nil {
		return err
	}
	if l.NextCursor != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", l.NextCursor)
	}
	if nested == nil {
		return nil
	}
	var rows []map[string]any
	for _, it := range items {
		list, _ := it[nested.key].([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				rows = append(rows, m)
			}
		}
	}
	fmt.Fprintln(w)
	return writeTable(w, nested.columns, rows)
}

// writeTable prints a header of the column names and one row per item.
func writeTable(w io.Writer, columns []string, items []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, it := range items {
		cells := make([]string, len(columns))
		for i, c := range columns {
			cells[i] = cell(lookup(it, c))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// lookup reads a dotted path such as "reservation.node_id".
func lookup(m map[string]any, path string) any {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case float64:
		// Plain digits: Raft indexes and bit rates run into the millions,
		// which %g would print as 1.234567e+06.
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// exitCode maps an error to the process exit status.
func exitCode(err error) int {
	var ue *usageError
	var ae *api.Error
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae):
		switch {
		case ae.Status == 404:
			return exitNotFound
		case ae.Status == 400 || ae.Status == 413 || ae.Status == 414 || ae.Status == 415 || ae.Status == 431 || ae.Status == 401:
			return exitUsage
		case ae.Status == 403 || ae.Status == 409 || ae.Status == 429:
			return exitConflict
		case ae.Status >= 500:
			return exitUnavailable
		}
	case errors.Is(err, api.ErrUnreachable):
		return exitUnavailable
	}
	return exitFailure
}

// Helpers for verb definitions.

func nargs(args []string, n int, synopsis string) error {
	if len(args) != n {
		return usagef("want %d argument(s): %s", n, synopsis)
	}
	return nil
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("tenants create acme --max-sessions 2").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
