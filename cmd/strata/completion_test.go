package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// completeBash loads the bash completion script into a real bash and
// returns what it offers for the words typed (the last one is the word
// being completed).
func completeBash(t *testing.T, script string, words ...string) []string {
	t.Helper()
	quoted := []string{"strata"}
	for _, w := range words {
		quoted = append(quoted, `"`+w+`"`)
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)) +
		"\n_strata\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// TestCompletionBash: the bash script offers, for every resource, each of
// its actions, and for an action its flags, as the binary takes them.
func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash here")
	}
	var b bytes.Buffer
	writeBash(&b, commandTree())
	script := b.String()
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ten"}, []string{"tenants"}},
		{[]string{"comp"}, []string{"completion"}},
		{[]string{"completion", ""}, shells},
		{[]string{"tenants", "up"}, []string{"update"}},
		{[]string{"tenants", "update", "ten_x", "--max-"}, []string{"--max-egress-mbps", "--max-gpus", "--max-sessions"}},
		{[]string{"sessions", "list", "--tenant"}, []string{"--tenant-id"}},
		{[]string{"origin", "--api-a"}, []string{"--api-addr", "--api-advertise"}},
		{[]string{"edge", "--runtime-s"}, []string{"--runtime-state-dir", "--runtime-stop-grace"}},
		{[]string{"apps", "get", "-"}, []string{"--addr", "--ca-file", "--ca-fingerprint", "-o", "--token"}},
	} {
		if got := completeBash(t, script, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("strata %s<TAB> offers %q, want %q", strings.Join(tc.words, " "), got, tc.want)
		}
	}
	// Every command and every action the binary dispatches is offered.
	for name := range commands {
		if got := completeBash(t, script, name); !slices.Contains(got, name) {
			t.Errorf("command %s not offered: %q", name, got)
		}
	}
	for _, r := range resources() {
		for v := range r.verbs {
			if got := completeBash(t, script, r.name, v); !slices.Contains(got, v) {
				t.Errorf("strata %s %s not offered: %q", r.name, v, got)
			}
		}
	}
}

// TestCompletionScripts: each shell's script names every command, and an
// unknown shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	tree := commandTree()
	var bash, fish bytes.Buffer
	writeBash(&bash, tree)
	writeFish(&fish, tree)
	for name := range commands {
		if !strings.Contains(bash.String(), " "+name) || !strings.Contains(fish.String(), "-a "+name+" ") {
			t.Errorf("a script lacks command %s", name)
		}
	}
	if !strings.Contains(fish.String(), "__fish_seen_subcommand_from tenants; and __fish_seen_subcommand_from update' -l max-sessions") {
		t.Errorf("fish script lacks tenants update --max-sessions:\n%s", fish.String())
	}
	if code := run([]string{"completion", "tcsh"}); code != exitUsage {
		t.Errorf("completion tcsh: exit %d, want %d", code, exitUsage)
	}
}
