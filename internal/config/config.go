// Package config loads a node's configuration in layers: defaults, then a
// YAML file, then STRATA_* environment variables, then command-line flags.
// Each later layer overrides only what it sets.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid marks configuration errors; messages name the key.
var ErrInvalid = errors.New("invalid configuration")

// Resolve fills dst (a pointer to a struct with yaml tags) from the layers.
// setDefaults writes defaults into dst. fs has flags bound to dst's fields;
// its "config" flag, if any, names the YAML file, read as the section
// named like fs (see LoadSection). Flags are parsed first only to find the
// file and to learn which were given; they are then re-applied last so
// they win.
func Resolve(dst any, setDefaults func(), fs *flag.FlagSet, args []string, environ []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	file := given["config"]
	setDefaults()
	if file != "" {
		if err := LoadSection(dst, file, fs.Name()); err != nil {
			return err
		}
	}
	if err := ApplyEnv(dst, "STRATA", environ); err != nil {
		return err
	}
	for name, v := range given {
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%w: flag --%s: %v", ErrInvalid, name, err)
		}
	}
	return nil
}

// LoadFile merges a YAML file into dst. Unknown keys are errors, so a typo
// never silently does nothing.
func LoadFile(dst any, path string) error { return LoadSection(dst, path, "") }

// Roles are the top-level keys of a file shared by several roles: one
// host's origin and edge can keep their settings in one file.
var Roles = []string{"origin", "edge"}

// LoadSection is LoadFile for the role named role: when every top-level
// key of the file is a role's name (origin:, edge:), only role's section
// is read (none there: nothing to merge); any other file is read whole.
// Unknown keys in the section read are errors, with their file line.
func LoadSection(dst any, path, role string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %v", ErrInvalid, err)
	}
	target := dst
	if role != "" && sectioned(b) {
		// A struct with one field per role, dst's role bound to dst, the
		// others kept as raw nodes: decoded with KnownFields, a typo in
		// the section still fails with its line.
		fields := make([]reflect.StructField, len(Roles))
		for i, r := range Roles {
			fields[i] = reflect.StructField{Name: strings.ToUpper(r[:1]) + r[1:], Type: reflect.TypeOf(yaml.Node{}), Tag: reflect.StructTag(`yaml:"` + r + `"`)}
			if r == role {
				fields[i].Type = reflect.TypeOf(dst)
			}
		}
		w := reflect.New(reflect.StructOf(fields))
		for i, r := range Roles {
			if r == role {
				w.Elem().Field(i).Set(reflect.ValueOf(dst))
			}
		}
		target = w.Interface()
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(target); err != nil && !errors.Is(err, errEOF(err)) {
		return fmt.Errorf("%w: config file %s: %v", ErrInvalid, path, err)
	}
	return nil
}

// sectioned reports whether a file's top-level keys are all role names.
func sectioned(b []byte) bool {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		if !slices.Contains(Roles, m.Content[i].Value) {
			return false
		}
	}
	return len(m.Content) > 0
}

// errEOF lets an empty file through.
func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return nil
}

// ApplyEnv sets fields from variables named PREFIX_ followed by the yaml
// key path in upper case joined by underscores, e.g. STRATA_RAFT_PROFILE for
// raft.profile. Lists are comma-separated; durations use Go syntax.
func ApplyEnv(dst any, prefix string, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, prefix+"_") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walk(reflect.ValueOf(dst).Elem(), prefix, "", env)
}

func walk(v reflect.Value, envName, keyPath string, env map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := envName + "_" + strings.ToUpper(tag)
		key := tag
		if keyPath != "" {
			key = keyPath + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}) {
			if err := walk(fv, name, key, env); err != nil {
				return err
			}
			continue
		}
		raw, ok := env[name]
		if !ok {
			continue
		}
		if err := setValue(fv, raw); err != nil {
			return fmt.Errorf("%w: %s (from %s): %v", ErrInvalid, key, name, err)
		}
	}
	return nil
}

func setValue(v reflect.Value, raw string) error {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", v.Type())
		}
		var parts []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// StringList is a repeatable or comma-separated flag.
type StringList []string

func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set appends values; a comma-separated value adds several.
func (l *StringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !contains(*l, p) {
			*l = append(*l, p)
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
