package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// SecretFile is a flag naming a file that holds a secret: the secret
// itself never goes on the command line, where every user of the host
// can read it (ps, /proc/PID/cmdline). The file's content, trimmed of
// surrounding white space, sets the value; keep the file 0600.
type SecretFile struct {
	dst  *string
	path string
}

// NewSecretFile returns a SecretFile setting *dst.
func NewSecretFile(dst *string) *SecretFile { return &SecretFile{dst: dst} }

func (f *SecretFile) String() string { return f.path }

// Set reads the file at path into the secret.
func (f *SecretFile) Set(path string) error {
	v, err := readSecret(path)
	if err != nil {
		return err
	}
	f.path, *f.dst = path, v
	return nil
}

// SecretListFile is a SecretFile for a list: one value per line (blank
// lines and lines starting with # are skipped), in order.
type SecretListFile struct {
	dst  *[]string
	path string
}

// NewSecretListFile returns a SecretListFile replacing *dst.
func NewSecretListFile(dst *[]string) *SecretListFile { return &SecretListFile{dst: dst} }

func (f *SecretListFile) String() string { return f.path }

// Set reads the file at path into the list.
func (f *SecretListFile) Set(path string) error {
	v, err := readSecret(path)
	if err != nil {
		return err
	}
	var list []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			list = append(list, l)
		}
	}
	f.path, *f.dst = path, list
	return nil
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}

// Exclusive fails when more than one of the named flags was given: a
// secret and its file flag set the same value, and which would win is
// not defined.
func Exclusive(fs *flag.FlagSet, names ...string) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				given = append(given, "--"+n)
			}
		}
	})
	if len(given) > 1 {
		return fmt.Errorf("%w: %s: give one of them", ErrInvalid, strings.Join(given, " and "))
	}
	return nil
}

var (
	_ flag.Value = (*SecretFile)(nil)
	_ flag.Value = (*SecretListFile)(nil)
)
