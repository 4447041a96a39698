package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// depRule limits what the packages matching pkgs depend on, directly or
// through other packages, outside tests. Patterns are module-relative for
// our packages ("edge/...") and full for others ("github.com/x/y/...");
// "p/..." means p and everything below it.
type depRule struct {
	pkgs string
	why  string
	// allow, when set, lists the only packages of ours that may be
	// depended on (list the rule's own packages too).
	allow []string
	// deny lists packages, ours or not, that must not be depended on.
	deny []string
	// optional: the packages may not exist yet.
	optional bool
}

// The layout table of the design, as rules.
var depRules = []depRule{
	{pkgs: "transport/...", why: "transport is a library: it knows nothing of nodes",
		deny: []string{"origin/...", "edge/...", "registry/...", "placement/...", "bench/...", "cmd/..."}},
	{pkgs: "placement/...", why: "placement is pure: it imports nothing of ours",
		allow: []string{"placement/..."}},
	{pkgs: "api/...", why: "api is a leaf any consumer links without the server", optional: true,
		allow: []string{"api/..."},
		deny: []string{"github.com/hashicorp/raft/...", "github.com/hashicorp/raft-wal/...", "github.com/hashicorp/raft-boltdb/...",
			"go.etcd.io/bbolt/...", "github.com/boltdb/bolt/...", "github.com/valyala/fasthttp/...", "github.com/fasthttp/..."}},
	{pkgs: "autoscale", why: "the autoscaling policy is pure: api types at most; its adapters live below it",
		allow: []string{"autoscale", "api/..."}},
	{pkgs: "registry/...", why: "registry may import only placement and internal helpers",
		allow: []string{"registry/...", "placement/...", "internal/..."}},
	{pkgs: "player/...", why: "the player is served by edges, never the other way round",
		deny: []string{"edge/..."}},
	{pkgs: "edge/...", why: "edge and origin are separate nodes that meet over the API",
		deny: []string{"origin/..."}},
	{pkgs: "origin/...", why: "edge and origin are separate nodes that meet over the API",
		deny: []string{"edge/..."}},
	{pkgs: "cmd/strata", why: "the release binary links no test harness (benches are in cmd/strata-bench)",
		deny: []string{"internal/testcluster/...", "player/playertest/...", "bench/...", "github.com/chromedp/..."}},
}

// importerRule lists the only packages that may import pkgs outside tests.
type importerRule struct {
	pkgs string
	why  string
	by   []string
}

var importerRules = []importerRule{
	{pkgs: "internal/testcluster/...", why: "the in-process cluster is a test harness; bench, run only by cmd/strata-bench, is the one exception",
		by: []string{"internal/testcluster/...", "bench"}},
	{pkgs: "player/playertest/...", why: "the browser driver is a test harness; bench, run only by cmd/strata-bench, is the one exception",
		by: []string{"player/playertest/...", "bench"}},
	{pkgs: "internal/certs/acmetest/...", why: "the in-process ACME CA is a test harness: pebble stays out of the binary",
		by: []string{"internal/certs/acmetest/..."}},
	{pkgs: "internal/promtest/...", why: "running Prometheus is a test harness",
		by: []string{"internal/promtest/..."}},
}

// pkg is what go list says about one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// graph is the module's non-test import graph, with every dependency.
type graph struct {
	module string
	pkgs   map[string]*pkg // by import path
	ours   []string        // our packages, module-relative, sorted
}

func loadGraph(t *testing.T) *graph {
	t.Helper()
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	g := &graph{module: strings.TrimSpace(string(mod)), pkgs: map[string]*pkg{}}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps,Standard", g.module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g.pkgs[p.ImportPath] = &p
		if rel, ok := g.rel(p.ImportPath); ok {
			g.ours = append(g.ours, rel)
		}
	}
	slices.Sort(g.ours)
	if len(g.ours) == 0 {
		t.Fatal("go list found none of our packages")
	}
	return g
}

// rel is path relative to the module for our packages.
func (g *graph) rel(path string) (string, bool) {
	return strings.CutPrefix(path, g.module+"/")
}

// name is how patterns see path: module-relative for ours, the full path
// for the rest.
func (g *graph) name(path string) string {
	if rel, ok := g.rel(path); ok {
		return rel
	}
	return path
}

// chain is a shortest import chain from one package to another, for
// messages that say where a dependency comes from.
func (g *graph) chain(from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append(path, g.name(p))
			}
			slices.Reverse(path)
			return strings.Join(path, " → ")
		}
		if p, ok := g.pkgs[cur]; ok {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return g.name(from) + " → … → " + g.name(to)
}

// match reports whether name matches pattern: exactly, or below it for
// "p/...".
func match(pattern, name string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return name == base || strings.HasPrefix(name, base+"/")
	}
	return name == pattern
}

func matchAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, name) })
}

// TestImportsFollowTheLayout fails when a package depends on one the
// layout table of the design does not allow it to.
func TestImportsFollowTheLayout(t *testing.T) {
	g := loadGraph(t)
	for _, r := range depRules {
		if problems := g.checkDeps(r); len(problems) > 0 {
			t.Errorf("%s (%s):\n\t%s", r.pkgs, r.why, strings.Join(problems, "\n\t"))
		}
	}
	for _, r := range importerRules {
		if problems := g.checkImporters(r); len(problems) > 0 {
			t.Errorf("%s (%s):\n\t%s", r.pkgs, r.why, strings.Join(problems, "\n\t"))
		}
	}
}

func (g *graph) checkDeps(r depRule) []string {
	var problems []string
	found := false
	for _, rel := range g.ours {
		if !match(r.pkgs, rel) {
			continue
		}
		found = true
		p := g.pkgs[g.module+"/"+rel]
		var bad []string
		for _, dep := range p.Deps {
			if d := g.pkgs[dep]; d != nil && d.Standard {
				continue
			}
			name := g.name(dep)
			_, ours := g.rel(dep)
			if matchAny(r.deny, name) || ours && r.allow != nil && !matchAny(r.allow, name) {
				bad = append(bad, dep)
			}
		}
		// Name only the first forbidden package on each path: what it
		// drags in follows from it.
		for _, dep := range bad {
			if !slices.ContainsFunc(bad, func(b string) bool { return slices.Contains(g.pkgs[b].Deps, dep) }) {
				problems = append(problems, g.chain(p.ImportPath, dep))
			}
		}
	}
	if !found && !r.optional {
		problems = append(problems, fmt.Sprintf("no package matches %q: a stale rule?", r.pkgs))
	}
	return problems
}

func (g *graph) checkImporters(r importerRule) []string {
	var problems []string
	found := false
	for _, rel := range g.ours {
		found = found || match(r.pkgs, rel)
		if matchAny(r.by, rel) {
			continue
		}
		for _, imp := range g.pkgs[g.module+"/"+rel].Imports {
			if name := g.name(imp); match(r.pkgs, name) {
				problems = append(problems, rel+" imports "+name)
			}
		}
	}
	if !found {
		problems = append(problems, fmt.Sprintf("no package matches %q: a stale rule?", r.pkgs))
	}
	return problems
}
