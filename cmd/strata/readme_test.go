package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// readmeBlock returns the shell block of README.md between the
// readme-cluster markers: the cluster walk-through as users read it.
func readmeBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- readme-cluster:begin -->")
	block, _, ok2 := strings.Cut(rest, "<!-- readme-cluster:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no readme-cluster block")
	}
	block = strings.TrimSpace(block)
	block, ok = strings.CutPrefix(block, "```sh\n")
	block, ok2 = strings.CutSuffix(block, "```")
	if !ok || !ok2 {
		t.Fatal("the readme-cluster block is not one sh code block")
	}
	return block
}

// loopbackAddr is an address the README binds; the test moves each to a
// free port, since other processes on the machine may hold the README's.
var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// TestReadmeCluster runs README.md's "Running a cluster" script as
// written (only its loopback ports moved to free ones) with real strata
// processes built from this tree: it must finish without error, print the
// player page of a running session, and a viewer must get a keyframe of
// that session. As root, the script runs as nobody, as the README asks
// (an edge started as root runs instances as nobody, who could reach
// neither the binary nor the state under a root-only directory).
func TestReadmeCluster(t *testing.T) {
	_, built := buildBinary(t)
	script := readmeBlock(t)
	ports := map[string]string{}
	for _, a := range loopbackAddr.FindAllString(script, -1) {
		if ports[a] == "" {
			ports[a] = freeAddrs(t, 1)[0]
		}
	}
	script = loopbackAddr.ReplaceAllStringFunc(script, func(a string) string { return ports[a] })

	// A tree the script's user can reach: the binary on PATH, an empty
	// working directory.
	root, err := os.MkdirTemp("", "strata-readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	binDir, work := filepath.Join(root, "bin"), filepath.Join(root, "work")
	for _, d := range []string{root, binDir, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, built, filepath.Join(binDir, "strata"))
	if err := os.WriteFile(filepath.Join(work, "cluster.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "cluster.sh")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + binDir + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + work, "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skipf("runs as root and there is no user nobody to run the README as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(work, uid, gid); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopReadmeCluster(t, work, ports["127.0.0.1:7070"], cmd.Process.Pid) })
	if err := cmd.Wait(); err != nil {
		logs, _ := filepath.Glob(filepath.Join(work, "logs", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), tail(string(b), 4000))
		}
		t.Fatalf("the README's cluster script failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := strings.TrimSpace(stdout.String())
	lines := strings.Split(out, "\n")
	player := lines[len(lines)-1]
	if !strings.HasPrefix(player, "https://") || !strings.Contains(player, "/embed/") {
		t.Fatalf("the script's last line is %q, want the player page; stdout:\n%s", player, out)
	}

	// A viewer of the session the script started gets a keyframe.
	admin := readmeAdmin(t, work, ports["127.0.0.1:7070"])
	page, err := admin.Sessions().Page(ctx, api.SessionFilter{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("sessions: %+v, %v; want the script's one", page, err)
	}
	ses := page.Items[0]
	if ses.State != api.StateRunning || !strings.Contains(player, ses.ID) {
		t.Fatalf("session %s is %s (%s); the player page %s", ses.ID, ses.State, ses.Reason, player)
	}
	frames, stop := testcluster.WatchSession(ctx, admin, ses.TenantID, ses.ID)
	defer stop()
	defer cancel()
	select {
	case f := <-frames:
		if !f.Keyframe {
			for f = range frames {
				if f.Keyframe {
					break
				}
			}
		}
		t.Logf("viewer got a keyframe from edge %s", f.Edge)
	case <-ctx.Done():
		t.Fatal("no frame at the viewer")
	}
}

// readmeAdmin is an admin client of the script's cluster.
func readmeAdmin(t *testing.T, work, addr string) *api.Client {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(work, "data", "o1", "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(work, "data", "o1", "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	return api.New(strings.TrimSpace(string(tok)), addr).WithTLS(pki.TrustConfig(ca))
}

// stopReadmeCluster ends what the script started: its sessions first, so
// the edge stops their instances (which outlive an edge by design), then
// every process of its group, then any instance still listed in the
// edge's state.
func stopReadmeCluster(t *testing.T, work, addr string, pgid int) {
	if _, err := os.Stat(filepath.Join(work, "data", "o1", "admin-token")); err == nil {
		admin := readmeAdmin(t, work, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if page, err := admin.Sessions().Page(ctx, api.SessionFilter{}); err == nil {
			for _, s := range page.Items {
				_, _ = admin.Sessions().Terminate(ctx, s.ID, "")
			}
		}
		instances := filepath.Join(work, "data", "edge-eu-1", "runtime", "instances", "*.json")
		for ctx.Err() == nil {
			if left, _ := filepath.Glob(instances); len(left) == 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		cancel()
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	left, _ := filepath.Glob(filepath.Join(work, "data", "edge-eu-1", "runtime", "instances", "*.json"))
	for _, f := range left {
		var pf struct {
			PID int `json:"pid"`
		}
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &pf) == nil && pf.PID > 0 {
			t.Logf("killing instance %d left by the edge", pf.PID)
			_ = syscall.Kill(-pf.PID, syscall.SIGKILL)
			_ = syscall.Kill(pf.PID, syscall.SIGKILL)
		}
	}
	// The group's processes hold files in work: wait until they are gone.
	poll.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("process group %d still alive (%v)", pgid, err)
		}
		return nil
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
