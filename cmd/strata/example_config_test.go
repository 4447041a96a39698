package main

import (
	"flag"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/config"
	"github.com/strata-edge/strata/origin"
)

// exampleConfig is the commented configuration shipped at the repo root.
const exampleConfig = "../../strata.example.yaml"

// TestExampleConfig loads strata.example.yaml as `strata origin --config`
// and `strata edge --config` do: each role's section must load (no
// unknown key), validate, name every key the role accepts, and show the
// role's defaults except where a required key needs a sample value.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// The edge needs a gossip key, kept out of files: the environment
	// gives it, as the example says.
	env := []string{"STRATA_GOSSIP_KEYS=" + strings.Repeat("A", 43) + "="}
	t.Run("origin", func(t *testing.T) {
		cfg := origin.Defaults()
		checkExample(t, doc["origin"], &cfg, func() { cfg = origin.Defaults() }, originFlags(&cfg), cfg.Validate, origin.Defaults(), nil, nil)
	})
	t.Run("edge", func(t *testing.T) {
		cfg := edge.Defaults()
		samples := []string{"node_id", "join", "region", "gossip.keys"}
		checkExample(t, doc["edge"], &cfg, func() { cfg = edge.Defaults() }, edgeFlags(&cfg), cfg.Validate, edge.Defaults(), samples, env)
	})
}

// checkExample resolves cfg from the example through the role's flag set
// and compares the section's keys and values with the role's.
func checkExample[T any](t *testing.T, section yaml.Node, cfg *T, reset func(), fs *flag.FlagSet, validate func() error, defaults T, samples, env []string) {
	t.Helper()
	if section.Kind != yaml.MappingNode {
		t.Fatalf("no %s: section in %s", fs.Name(), exampleConfig)
	}
	if err := resolveExample(cfg, reset, fs, env); err != nil {
		t.Fatalf("loading %s: %v", exampleConfig, err)
	}
	if err := validate(); err != nil {
		t.Fatalf("%s section does not validate: %v", fs.Name(), err)
	}
	inFile := map[string]bool{}
	yamlKeys(&section, "", inFile)
	want := map[string]reflect.Value{}
	configKeys(reflect.ValueOf(defaults), "", want)
	got := map[string]reflect.Value{}
	configKeys(reflect.ValueOf(*cfg), "", got)
	for _, key := range slices.Sorted(maps.Keys(want)) {
		switch {
		case !inFile[key]:
			t.Errorf("%s.%s is missing from %s", fs.Name(), key, exampleConfig)
		case !slices.Contains(samples, key) && !reflect.DeepEqual(emptyNil(got[key]), emptyNil(want[key])):
			t.Errorf("%s.%s = %v in %s; the default is %v", fs.Name(), key, got[key], exampleConfig, want[key])
		}
	}
}

// resolveExample is the role commands' loading path: defaults, the file,
// the environment given, no other flags.
func resolveExample[T any](cfg *T, reset func(), fs *flag.FlagSet, env []string) error {
	return config.Resolve(cfg, reset, fs, []string{"--config", exampleConfig}, env)
}

// yamlKeys collects the dotted paths of a mapping's leaves.
func yamlKeys(n *yaml.Node, prefix string, out map[string]bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := prefix+n.Content[i].Value, n.Content[i+1]
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 {
			yamlKeys(v, key+".", out)
			continue
		}
		out[key] = true
	}
}

// configKeys collects a config struct's leaves by dotted YAML path, the
// way the loaders walk it (nested structs are sections).
func configKeys(v reflect.Value, prefix string, out map[string]reflect.Value) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			configKeys(v.Field(i), prefix+tag+".", out)
			continue
		}
		out[prefix+tag] = v.Field(i)
	}
}

// emptyNil makes an empty list or map equal to a nil one.
func emptyNil(v reflect.Value) any {
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
		return nil
	}
	return v.Interface()
}
