package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/poll"
)

// TestSIGKILLLosesNoAcknowledgedWrite runs three origins as real
// processes of the strata binary, writes concurrently, SIGKILLs the
// leader mid-load, and checks that every acknowledged write is on the
// survivors and, after a restart, on the killed node too.
func TestSIGKILLLosesNoAcknowledgedWrite(t *testing.T) {
	dir, bin := buildBinary(t)
	const token = "sigkill-test-admin-token-0123456789abcdef"
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // test-only gossip key
	type proc struct {
		id, api string
		args    []string
		env     []string
		cmd     *exec.Cmd
	}
	procs := make([]*proc, 3)
	for i := range procs {
		ports := freeAddrs(t, 3)
		p := &proc{id: fmt.Sprintf("o%d", i+1), api: ports[0]}
		p.args = []string{"origin", "--id", p.id, "--data-dir", filepath.Join(dir, p.id),
			"--api-addr", ports[0], "--raft-addr", ports[1], "--gossip-addr", ports[2],
			"--admin-token", token, "--gossip-key", key, "--gossip-profile", "local", "--rate-limit", "0", "--log-level", "warn"}
		if i == 0 {
			p.args = append(p.args, "--bootstrap")
		} else {
			p.args = append(p.args, "--join", procs[0].api)
		}
		procs[i] = p
	}
	start := func(p *proc) {
		p.cmd = exec.Command(bin, p.args...)
		p.cmd.Env = append(os.Environ(), p.env...)
		p.cmd.Stderr = &prefixWriter{t: t, prefix: p.id}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// The bootstrap origin makes the cluster CA; the others enroll with
	// an origin join token, pinning the CA by its fingerprint.
	start(procs[0])
	t.Cleanup(func() {
		for _, p := range procs {
			if p.cmd != nil && p.cmd.Process != nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	})
	ctx := context.Background()
	trust, join := joinBootstrap(t, filepath.Join(dir, "o1", "pki", "ca.crt"), procs[0].api, token, api.RoleOrigin)
	for _, p := range procs[1:] {
		p.args = append(p.args, "--ca-fingerprint", join.CAFingerprint)
		p.env = []string{"STRATA_PKI_JOIN_TOKEN=" + join.Token}
		start(p)
	}
	addrs := []string{procs[0].api, procs[1].api, procs[2].api}
	admin := api.New(token, addrs...).WithTLS(trust)
	admin.Timeout = 3 * time.Second
	poll.For(t, 90*time.Second, 20*time.Millisecond, func() error {
		st, err := api.New(token, procs[0].api).WithTLS(trust).Cluster().Status(ctx)
		if err != nil {
			return err
		}
		if len(st.Peers) != 3 || st.LeaderID == "" {
			return fmt.Errorf("%d voters, leader %q; want three voters and a leader", len(st.Peers), st.LeaderID)
		}
		return nil
	})

	var mu sync.Mutex
	acked := map[string]string{} // tenant ID → name
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, n)
				ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: name})
				if err != nil {
					continue // unacknowledged: may or may not exist
				}
				mu.Lock()
				acked[ten.ID] = name
				mu.Unlock()
			}
		}(w)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	poll.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		if n := count(); n < 300 {
			return fmt.Errorf("%d writes before the kill, want 300", n)
		}
		return nil
	})
	st, err := admin.Cluster().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim *proc
	for _, p := range procs {
		if p.id == st.LeaderID {
			victim = p
		}
	}
	if victim == nil {
		t.Fatalf("leader %q not found", st.LeaderID)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	before := count()
	poll.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		if n := count(); n < before+300 {
			return fmt.Errorf("%d writes after the kill, want 300", n-before)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	t.Logf("%d writes acknowledged; leader %s killed with SIGKILL after %d", count(), victim.id, before)

	// missing lists acknowledged tenants absent from c's answer at the
	// given consistency.
	missing := func(c *api.Client, consistency api.Consistency) ([]string, error) {
		tenants, err := c.Tenants().List(ctx, api.ListOptions{Consistency: consistency, Limit: api.MaxListLimit})
		if err != nil {
			return nil, err
		}
		got := map[string]string{}
		for _, ten := range tenants {
			got[ten.ID] = ten.Name
		}
		var out []string
		for id, name := range acked {
			if got[id] != name {
				out = append(out, id)
			}
		}
		return out, nil
	}
	var survivors []string
	for _, p := range procs {
		if p != victim {
			survivors = append(survivors, p.api)
		}
	}
	if lost, err := missing(api.New(token, survivors...).WithTLS(trust), api.Consistent); err != nil || len(lost) > 0 {
		t.Fatalf("survivors: %d acknowledged writes missing (%v): %v", len(lost), err, lost[:min(len(lost), 5)])
	}
	// The killed node restarts from its own log and catches up: its own
	// (stale) state ends up holding every acknowledged write.
	victim.args = withoutFlag(victim.args, "--bootstrap")
	start(victim)
	poll.For(t, 90*time.Second, 20*time.Millisecond, func() error {
		lost, err := missing(api.New(token, victim.api).WithTLS(trust), api.Stale)
		if err != nil {
			return err
		}
		if len(lost) != 0 {
			return fmt.Errorf("restarted node lacks %d acknowledged writes", len(lost))
		}
		return nil
	})
}

func withoutFlag(args []string, flag string) []string {
	var out []string
	for _, a := range args {
		if a != flag {
			out = append(out, a)
		}
	}
	return out
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs, err := netutil.FreeLoopbackAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// prefixWriter forwards a child's log lines to the test log.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" && os.Getenv("STRATA_TEST_CHILD_LOGS") != "" {
			w.t.Log(w.prefix + ": " + line)
		}
	}
	return len(p), nil
}
