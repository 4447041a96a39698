package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"
)

// fakeJWS builds an unsigned token-shaped string with the given payload.
func fakeJWS(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"EdDSA"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
}

func TestTestsrcArgs(t *testing.T) {
	tok := fakeJWS(`{"tid":"acme","sid":"s-9","role":"publisher"}`)
	env := map[string]string{
		"STRATA_PUBLISH_URL":   "https://127.0.0.1:4443/moq",
		"STRATA_PUBLISH_TOKEN": tok,
		"STRATA_SESSION_ID":    "s-1",
		"STRATA_INPUT_URL":     "https://127.0.0.1:4443/input",
	}
	getenv := func(k string) string { return env[k] }

	o, err := parseTestsrcArgs(nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:4443" || o.namespace.Tenant != "acme" || o.namespace.Session != "s-1" || !o.insecure || o.token != tok {
		t.Fatalf("from env: %+v", o)
	}

	o, err = parseTestsrcArgs([]string{"--url", "edge.example:4443", "--tenant", "t2", "--session", "x", "--duration", "3s"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "edge.example:4443" || o.namespace.Tenant != "t2" || o.namespace.Session != "x" || o.insecure || o.duration != 3*time.Second {
		t.Fatalf("flags: %+v", o)
	}
	if o, err = parseTestsrcArgs([]string{"--insecure=false"}, getenv); err != nil || o.insecure {
		t.Fatalf("--insecure=false on loopback: %+v, %v", o, err)
	}

	// --whip publishes to the WHIP URL; the MoQ URL is not needed.
	if o, err = parseTestsrcArgs([]string{"--whip", "--whip-url", "https://127.0.0.1:8443/whip/acme/s-9"},
		func(k string) string { return map[string]string{"STRATA_PUBLISH_TOKEN": tok}[k] }); err != nil || o.whipURL == "" || !o.insecure || o.token != tok {
		t.Fatalf("--whip: %+v, %v", o, err)
	}

	// The session falls back to the token's sid.
	delete(env, "STRATA_SESSION_ID")
	if o, err = parseTestsrcArgs(nil, getenv); err != nil || o.namespace.Session != "s-9" {
		t.Fatalf("session from token: %+v, %v", o, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"whip without url", []string{"--whip"}, env},
		{"whip bad url", []string{"--whip", "--whip-url", "https://h:1/moq"}, env},
		{"no url", nil, map[string]string{"STRATA_PUBLISH_TOKEN": tok}},
		{"bad url", []string{"--url", "ftp://x:1/moq"}, env},
		{"no port", []string{"--url", "https://host/moq"}, env},
		{"no tenant", []string{"--url", "h:1", "--session", "s"}, map[string]string{}},
		{"bad token", []string{"--url", "h:1", "--token", "a.!!.c"}, map[string]string{}},
		{"bad session", []string{"--session", "a/b"}, env},
		{"extra arg", []string{"x"}, env},
	} {
		_, err := parseTestsrcArgs(tc.args, func(k string) string { return tc.env[k] })
		if exitCode(err) != exitUsage {
			t.Errorf("%s: %v (exit %d), want a usage error", tc.name, err, exitCode(err))
		}
	}
}

// TestTestsrcUnreachableEdge: with nothing listening, publishing fails
// with an error instead of hanging.
func TestTestsrcUnreachableEdge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	o := testsrcOptions{addr: "127.0.0.1:9", insecure: true}
	o.namespace.Tenant, o.namespace.Session = "t", "s"
	err := publishTestsrc(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("publishing to a closed port succeeded")
	}
}
