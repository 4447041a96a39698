package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
)

// TestBinaryEdgeServesMetrics runs an origin and a media edge as real
// processes of the strata binary: service discovery on the origin lists
// both, and the edge's /metrics, found there, carries its gossip, MoQ
// relay and WebRTC collectors.
func TestBinaryEdgeServesMetrics(t *testing.T) {
	dir, bin := buildBinary(t)
	const token = "metrics-test-admin-token-0123456789abcdef"
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // test-only gossip key
	run := func(name string, env []string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stderr = &prefixWriter{t: t, prefix: name}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	ports := freeAddrs(t, 4)
	run("o1", nil, "origin", "--id", "o1", "--data-dir", filepath.Join(dir, "o1"), "--bootstrap",
		"--api-addr", ports[0], "--raft-addr", ports[1], "--gossip-addr", ports[2],
		"--admin-token", token, "--gossip-key", key, "--gossip-profile", "local", "--log-level", "warn")

	caFile := filepath.Join(dir, "o1", "pki", "ca.crt")
	_, join := joinBootstrap(t, caFile, ports[0], token, api.RoleEdge)
	// Metrics on a port the kernel picks rather than the default, which
	// another process on this machine may hold.
	run("e1", []string{"STRATA_TOKEN=" + join.Token}, "edge", "--id", "e1", "--data-dir", filepath.Join(dir, "e1"),
		"--join", ports[0], "--ca-fingerprint", join.CAFingerprint, "--region", "eu", "--gpus", "none", "--nic-mbps", "1000",
		"--gossip-addr", ports[3], "--gossip-key", key, "--gossip-profile", "local", "--log-level", "warn",
		"--media-quic-addr", "127.0.0.1:0", "--media-http-addr", "127.0.0.1:0", "--media-webrtc-addr", "127.0.0.1:0",
		"--metrics-addr", "127.0.0.1:0")

	// Prometheus' view: the CA and the name every node certificate carries.
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: pki.ServerName}}}
	get := func(url, bearer string) (string, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, b)
		}
		return string(b), nil
	}
	targets := map[string]string{}
	poll.For(t, 60*time.Second, 100*time.Millisecond, func() error {
		body, err := get("https://"+ports[0]+"/v1/prometheus/targets", token)
		if err != nil {
			return err
		}
		var groups []api.PrometheusTargetGroup
		if err := json.Unmarshal([]byte(body), &groups); err != nil {
			return err
		}
		for _, g := range groups {
			targets[g.Labels["node"]] = g.Targets[0]
		}
		if targets["o1"] == "" || targets["e1"] == "" {
			return fmt.Errorf("service discovery lists %v; want o1 and e1", targets)
		}
		return nil
	})
	for node, want := range map[string][]string{
		"o1": {"strata_registry_raft_leader", "strata_api_request_duration_seconds"},
		"e1": {"strata_gossip_members", "strata_edge_moq_", "strata_webrtc_"},
	} {
		body, err := get("https://"+targets[node]+"/metrics", "")
		if err != nil {
			t.Fatalf("%s: %v", node, err)
		}
		for _, series := range want {
			if !strings.Contains(body, series) {
				t.Errorf("%s /metrics has no %s series", node, series)
			}
		}
	}
}
