//go:build linux

package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-edge/strata/edge/runtime/sandbox"
	"github.com/strata-edge/strata/internal/poll"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the edge switches instances to another user only as root")
	}
}

// The proof for the issue: an instance cannot read the edge's secrets —
// not a 0600 file in the edge's 0700 data dir, and not the edge's
// environment through /proc.
func TestSandboxInstanceCannotReadEdgeSecrets(t *testing.T) {
	needRoot(t)
	data := tempDir(t) // the edge's data dir: 0700, owned by the edge
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(data, "node.token")
	if err := os.WriteFile(secret, []byte("s3cret-node-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A name only a listing of the dir would show.
	if err := os.WriteFile(filepath.Join(data, "gossip-unlisted.key"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STRATA_GOSSIP_KEYS", "s3cret-gossip-key")
	d := newDriver(t, tempDir(t))
	logs := runLogs(t, d, Spec{SessionID: "ses_thief", Command: sh(`
cat "$1"; echo "file-rc=$?"
ls "$2"; echo "dir-rc=$?"
cat /proc/$3/environ; echo "environ-rc=$?"
`, secret, data, strconv.Itoa(os.Getpid()))})
	for _, leak := range []string{"s3cret-node-token", "s3cret-gossip-key", "gossip-unlisted"} {
		if strings.Contains(logs, leak) {
			t.Errorf("instance output holds %q:\n%s", leak, logs)
		}
	}
	for _, want := range []string{"file-rc=1", "dir-rc=2", "environ-rc=1", "Permission denied"} {
		if !strings.Contains(logs, want) {
			t.Errorf("instance output lacks %q:\n%s", want, logs)
		}
	}
}

// An instance gets no_new_privs, the configured rlimits, the instance
// user, a private working directory and only the session's environment.
func TestSandboxConfinesInstance(t *testing.T) {
	state := tempDir(t)
	d := newDriverWith(t, ProcessConfig{StateDir: state, MaxOpenFiles: 1234, MaxProcesses: 321})
	uid, gid := os.Geteuid(), os.Getegid()
	if uid == 0 {
		nobody, err := sandbox.Nobody()
		if err != nil {
			t.Skip("no user nobody here")
		}
		uid, gid = int(nobody.UID), int(nobody.GID)
	}
	t.Setenv("STRATA_ADMIN_TOKEN", "edge-secret")
	spec := Spec{SessionID: "ses_box", Env: map[string]string{"APP_MODE": "x"}, Command: sh(`
grep NoNewPrivs /proc/self/status
grep -E 'Max (open files|processes|core file size)' /proc/self/limits
echo "ids=$(id -u):$(id -g) groups=$(id -G)"
echo "cwd=$PWD"
stat -c 'cwdstat=%a:%u:%g' .
echo private > mine && stat -c 'filemode=%a' mine
tr '\0' '\n' < /proc/$$/environ | sed 's/^/env:/'
`)}
	in := runToExit(t, d, spec)
	logs := string(in.Logs())
	workDir := filepath.Join(state, "work", in.ID())
	want := []string{
		"NoNewPrivs:\t1",
		"ids=" + strconv.Itoa(uid) + ":" + strconv.Itoa(gid) + " groups=" + strconv.Itoa(gid) + "\n",
		"cwd=" + workDir + "\n",
		fmt.Sprintf("cwdstat=700:%d:%d", uid, gid),
		"filemode=600", // umask 077
		"env:APP_MODE=x", "env:PATH=" + SafePATH, "env:STRATA_SESSION_ID=ses_box",
	}
	for _, w := range want {
		if !strings.Contains(logs, w) {
			t.Errorf("instance output lacks %q:\n%s", w, logs)
		}
	}
	for _, lim := range []struct{ name, value string }{
		{"Max open files", "1234"}, {"Max processes", "321"}, {"Max core file size", "0"},
	} {
		if !hasLimit(logs, lim.name, lim.value) {
			t.Errorf("limit %s is not %s (soft and hard):\n%s", lim.name, lim.value, logs)
		}
	}
	var env []string
	for _, l := range strings.Split(logs, "\n") {
		if v, ok := strings.CutPrefix(l, "env:"); ok {
			env = append(env, v)
		}
	}
	// The app's variable, the session's and PATH: nothing else.
	if len(env) != len(spec.SessionEnv())+1 || strings.Contains(logs, "edge-secret") {
		t.Errorf("environment %q: want the session's variables and PATH only", env)
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory after exit: %v; want removed", err)
	}
}

// hasLimit reports whether /proc/self/limits output sets name's soft and
// hard limits to value.
func hasLimit(limits, name, value string) bool {
	for _, l := range strings.Split(limits, "\n") {
		if rest, ok := strings.CutPrefix(l, name); ok {
			f := strings.Fields(rest)
			return len(f) >= 2 && f[0] == value && f[1] == value
		}
	}
	return false
}

// Without runtime.allow_root an edge refuses to run instances as root,
// and says what to set; with it, root instances run.
func TestSandboxRefusesRootInstances(t *testing.T) {
	for _, user := range []string{"root", "0", "0:0"} {
		_, err := instanceCredential(user, false, 0)
		if !errors.Is(err, ErrRootInstances) || !strings.Contains(err.Error(), "--allow-root-instances") ||
			!strings.Contains(err.Error(), "--instance-user") {
			t.Errorf("user %q: %v; want ErrRootInstances naming both flags", user, err)
		}
	}
	// An edge that is not root runs instances as itself and cannot switch.
	if c, err := instanceCredential("", false, 1000); c != nil || err != nil {
		t.Errorf("non-root edge, no user: %v, %v; want its own user", c, err)
	}
	if _, err := instanceCredential("0", false, 1000); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("non-root edge, user 0: %v; want refused", err)
	}
	needRoot(t)
	if _, err := NewProcess(ProcessConfig{StateDir: tempDir(t), User: "root"}, ProcessDeps{}); !errors.Is(err, ErrRootInstances) {
		t.Fatalf("NewProcess as root with user root: %v; want ErrRootInstances", err)
	}
	d := newDriverWith(t, ProcessConfig{StateDir: tempDir(t), User: "root", AllowRoot: true})
	if logs := runLogs(t, d, Spec{SessionID: "ses_root", Command: sh(`echo "uid=$(id -u)"`)}); !strings.Contains(logs, "uid=0") {
		t.Fatalf("allowed root instance: %q", logs)
	}
	// The default on a root edge is nobody.
	d = newDriver(t, tempDir(t))
	nobody, err := sandbox.Nobody()
	if err != nil {
		t.Skip("no user nobody here")
	}
	if logs := runLogs(t, d, Spec{SessionID: "ses_default", Command: sh(`echo "uid=$(id -u)"`)}); !strings.Contains(logs, fmt.Sprintf("uid=%d", nobody.UID)) {
		t.Fatalf("default instance user: %q; want nobody", logs)
	}
}

// A state dir the instance user cannot pass through is refused at once,
// not at each instance's start.
func TestSandboxStateDirMustBeSearchable(t *testing.T) {
	needRoot(t)
	private := t.TempDir() // 0700 root, as go test makes it
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := NewProcess(ProcessConfig{StateDir: filepath.Join(private, "runtime"), Cgroups: CgroupsOff}, ProcessDeps{})
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), private) {
		t.Fatalf("NewProcess under a 0700 dir: %v; want an error naming it", err)
	}
}

// A command that cannot run fails Start with the sandbox's reason and
// leaves nothing behind.
func TestSandboxStartFailureIsReported(t *testing.T) {
	state := tempDir(t)
	d := newDriver(t, state)
	_, err := d.Start(testCtx(t), Spec{SessionID: "ses_missing", Command: []string{"no-such-command-here"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-command-here") {
		t.Fatalf("Start: %v; want the missing command named", err)
	}
	for _, sub := range []string{"work", "instances"} {
		if ents, _ := os.ReadDir(filepath.Join(state, sub)); len(ents) != 0 {
			t.Errorf("%s left after a failed start: %v", sub, ents)
		}
	}
}

// Where the kernel lets the edge make cgroups, an instance runs in one
// with its app's CPU and memory limits, and what it leaves behind dies
// with it.
func TestSandboxCgroupLimits(t *testing.T) {
	cfg := ProcessConfig{StateDir: tempDir(t), Cgroups: CgroupsRequired, CgroupParent: testCgroupParent(t), MaxProcesses: 300}
	d, err := NewProcess(cfg, ProcessDeps{})
	if err != nil {
		t.Skipf("no writable cgroups here (needs root with cgroup v2, or v1 cpu and memory hierarchies): %v", err)
	}
	t.Cleanup(func() { _ = d.Close(testCtx(t)) })
	ctx := testCtx(t)
	// The background sleep leaves the process group: only the cgroup
	// still holds it when the instance ends.
	in, err := d.Start(ctx, Spec{SessionID: "ses_cg", CPUMillis: 250, MemoryMB: 64,
		Command: sh(`setsid sleep 600 & echo "escaped=$!"; echo ready; exec sleep 600`)})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	waitLogs(ctx, t, in, "ready")
	dirs := d.cg.Dirs(in.ID())
	want := map[string]string{}
	if d.cg.Version() == 2 {
		want["cpu.max"], want["memory.max"], want["pids.max"] = "25000 100000", strconv.Itoa(64<<20), "300"
	} else {
		want["cpu.cfs_quota_us"], want["memory.limit_in_bytes"], want["pids.max"] = "25000", strconv.Itoa(64<<20), "300"
	}
	found := 0
	pid := strconv.Itoa(in.(*instance).pid)
	for _, dir := range dirs {
		procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains("\n"+string(procs), "\n"+pid+"\n") {
			t.Errorf("%s/cgroup.procs = %q; want the instance %s", dir, procs, pid)
		}
		for file, v := range want {
			b, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				continue // another controller's file
			}
			found++
			if strings.TrimSpace(string(b)) != v {
				t.Errorf("%s/%s = %q; want %q", dir, file, b, v)
			}
		}
	}
	if found < 2 {
		t.Errorf("limit files found: %d in %v; want cpu and memory at least", found, dirs)
	}
	var escaped int
	for _, l := range strings.Split(string(in.Logs()), "\n") {
		if v, ok := strings.CutPrefix(l, "escaped="); ok {
			escaped, _ = strconv.Atoi(v)
		}
	}
	if err := in.Stop(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s after the instance: %v; want removed", dir, err)
		}
	}
	if escaped <= 0 {
		t.Fatalf("no escaped pid in %q", in.Logs())
	}
	t.Cleanup(func() { _ = syscall.Kill(escaped, syscall.SIGKILL) })
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if st, ok := procStat(escaped); ok && st.state != 'Z' {
			return fmt.Errorf("escaped process %d still runs", escaped)
		}
		return nil
	})
}

// The shim execs the command in place: the PID file names the command
// itself, which is what a restarted edge adopts and signals.
func TestSandboxPIDFileNamesTheCommand(t *testing.T) {
	ctx := testCtx(t)
	state := tempDir(t)
	d := newDriver(t, state)
	in, err := d.Start(ctx, Spec{SessionID: "ses_pid", Command: []string{"sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	b, err := os.ReadFile(filepath.Join(state, "instances", in.ID()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var pf pidFile
	if err := json.Unmarshal(b, &pf); err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pf.PID) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if string(cmdline) != "sleep\x00600\x00" || pf.StartTicks == 0 || pf.StartTicks != startTicks(pf.PID) {
		t.Fatalf("pid file %+v names %q; want the command itself with its start time", pf, cmdline)
	}
}
