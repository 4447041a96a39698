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
