package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A secret file flag survives Resolve's layering: the file wins over the
// environment like any flag, and its value is read, not its path.
func TestSecretFileFlags(t *testing.T) {
	type cfg struct {
		Token string   `yaml:"token"`
		Keys  []string `yaml:"keys"`
	}
	var c cfg
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(NewSecretFile(&c.Token), "token-file", "")
	fs.Var(NewSecretListFile(&c.Keys), "keys-file", "")
	tok := writeSecret(t, "  tok-from-file\n")
	keys := writeSecret(t, "# rotate: new first\nkey-new\n\nkey-old\n")
	err := Resolve(&c, func() { c = cfg{} }, fs, []string{"--token-file", tok, "--keys-file", keys},
		[]string{"STRATA_TOKEN=tok-from-env", "STRATA_KEYS=env-key"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "tok-from-file" || !slices.Equal(c.Keys, []string{"key-new", "key-old"}) {
		t.Fatalf("resolved %+v", c)
	}
	for _, bad := range []string{writeSecret(t, " \n"), filepath.Join(t.TempDir(), "missing")} {
		if err := NewSecretFile(new(string)).Set(bad); err == nil {
			t.Errorf("secret file %s: no error", bad)
		}
	}
}

func TestExclusive(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("token", "", "")
	fs.String("token-file", "", "")
	fs.String("other", "", "")
	if err := fs.Parse([]string{"--token", "a", "--other", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := Exclusive(fs, "token", "token-file"); err != nil {
		t.Fatalf("one given: %v", err)
	}
	if err := fs.Parse([]string{"--token-file", "f"}); err != nil {
		t.Fatal(err)
	}
	if err := Exclusive(fs, "token", "token-file"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("both given: %v; want ErrInvalid", err)
	}
}
