package moq

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestURLToken: a client that cannot send the AUTHORIZATION TOKEN setup
// parameter puts its token in the session URL's jwt query parameter (the
// WebTransport CONNECT URL, or PATH over raw QUIC); the server takes it
// as the setup token, and a token in CLIENT_SETUP wins over it.
func TestURLToken(t *testing.T) {
	cases := []struct {
		name, query, setup, want string
	}{
		{"url only", "?jwt=url-token", "", "url-token"},
		{"url among others", "?x=1&jwt=url%2Btoken&y=2", "", "url+token"},
		{"setup wins", "?jwt=url-token", "setup-token", "setup-token"},
		{"setup only", "", "setup-token", "setup-token"},
		{"none", "?other=1", "", ""},
		{"empty jwt", "?jwt=", "", ""},
	}
	for _, v := range testVersions {
		for _, tr := range []string{"quic", "webtransport"} {
			for _, tc := range cases {
				t.Run(v.String()+"/"+tr+"/"+tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					l, cliTLS := newListener(t, Config{})
					cfg := Config{Versions: []wire.Version{v}}
					if tc.setup != "" {
						cfg.AuthToken = []byte(tc.setup)
					}
					var cli *Session
					var err error
					if tr == "quic" {
						cfg.Path = "/moq" + tc.query
						cli, err = DialQUIC(ctx, l.Addr().String(), cliTLS, nil, cfg)
					} else {
						cli, err = DialWebTransport(ctx, "https://"+l.Addr().String()+WebTransportPath+tc.query, cliTLS, nil, cfg)
					}
					if err != nil {
						t.Fatalf("dial: %v", err)
					}
					defer cli.Close()
					srv, err := l.Accept(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer srv.Close()
					toks := srv.SetupTokens()
					var got string
					if len(toks) > 0 {
						got = string(toks[0])
					}
					if got != tc.want || len(toks) > 1 {
						t.Fatalf("setup tokens %q, want %q", toks, tc.want)
					}
				})
			}
		}
	}
}

func TestURLTokenNotInErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, cliTLS := newListener(t, Config{})
	addr := l.Addr().String()
	_ = l.Close()
	_, err := DialWebTransport(ctx, "https://"+addr+WebTransportPath+"?a=1&jwt=secret-token", cliTLS, &quic.Config{HandshakeIdleTimeout: 200 * time.Millisecond}, Config{})
	if err == nil || strings.Contains(err.Error(), "secret-token") || !strings.Contains(err.Error(), "jwt=REDACTED") {
		t.Fatalf("dial error %v, want the URL with jwt=REDACTED", err)
	}
	for in, want := range map[string]string{
		"https://h/moq?jwt=abc": "https://h/moq?jwt=REDACTED",
		"https://h/moq?x=1":     "https://h/moq?x=1",
		"https://h/moq":         "https://h/moq",
		"%zz?jwt=abc":           "%zz",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
