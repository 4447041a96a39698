package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Name  string        `yaml:"name"`
	Port  int           `yaml:"port"`
	Wait  time.Duration `yaml:"wait"`
	Seeds []string      `yaml:"seeds"`
	Raft  struct {
		Profile string `yaml:"profile"`
		Voter   bool   `yaml:"voter"`
	} `yaml:"raft"`
}

func TestLayersApplyInOrder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("name: from-file\nport: 2\nraft:\n  profile: wan\n  voter: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c testConfig
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("config", "", "")
	fs.StringVar(&c.Name, "name", "", "")
	fs.IntVar(&c.Port, "port", 0, "")
	env := []string{"STRATA_PORT=3", "STRATA_RAFT_PROFILE=lan", "STRATA_SEEDS=a, b", "STRATA_WAIT=5s", "OTHER=x"}
	err := Resolve(&c, func() { c = testConfig{Name: "default", Port: 1} }, fs, []string{"--config", file, "--name", "from-flag"}, env)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.Name != "from-flag": // flag beats file
		t.Errorf("name = %q", c.Name)
	case c.Port != 3: // env beats file
		t.Errorf("port = %d", c.Port)
	case c.Raft.Profile != "lan" || !c.Raft.Voter: // env beats file; file beats default
		t.Errorf("raft = %+v", c.Raft)
	case c.Wait != 5*time.Second || len(c.Seeds) != 2 || c.Seeds[1] != "b":
		t.Errorf("wait %v seeds %q", c.Wait, c.Seeds)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("nmae: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c testConfig
	if err := LoadFile(&c, file); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown key: %v", err)
	}
	err := ApplyEnv(&c, "STRATA", []string{"STRATA_RAFT_VOTER=maybe"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "raft.voter") {
		t.Fatalf("bad env value: %v", err)
	}
}

// TestSectionedFile: a file whose top-level keys are role names gives each
// role its own section; a typo in the section read is still an error.
func TestSectionedFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	both := write("both.yaml", "origin:\n  name: o\n  raft:\n    profile: wan\nedge:\n  name: e\n  port: 9\n")
	for role, want := range map[string]string{"origin": "o", "edge": "e"} {
		c := testConfig{Port: 1}
		if err := LoadSection(&c, both, role); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if c.Name != want {
			t.Errorf("%s: name = %q, want %q", role, c.Name, want)
		}
	}
	// The edge section's unknown key is the edge's error, not the origin's.
	other := write("other.yaml", "origin:\n  name: o\nedge:\n  not_ours: 1\n")
	var c testConfig
	if err := LoadSection(&c, other, "origin"); err != nil {
		t.Fatalf("origin with a bad edge section: %v", err)
	}
	if err := LoadSection(&c, other, "edge"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not_ours") {
		t.Fatalf("edge: %v", err)
	}
	c = testConfig{}
	err := LoadSection(&c, write("typo.yaml", "origin:\n  nmae: x\n"), "origin")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nmae") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("typo in the section: %v", err)
	}
	// A section-less file is read whole, as before; a role with no
	// section gets nothing from a sectioned file.
	c = testConfig{}
	if err := LoadSection(&c, write("plain.yaml", "name: p\n"), "edge"); err != nil || c.Name != "p" {
		t.Fatalf("plain file: %+v %v", c, err)
	}
	c = testConfig{Name: "kept"}
	if err := LoadSection(&c, write("only.yaml", "edge:\n  name: e\n"), "origin"); err != nil || c.Name != "kept" {
		t.Fatalf("no origin section: %+v %v", c, err)
	}
}
