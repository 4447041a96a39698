package player

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strata-edge/strata/player/internal/bundle"
)

// TestBundleFresh fails when dist/player.js does not match src/: the
// committed bundle must be regenerated with go generate ./player.
func TestBundleFresh(t *testing.T) {
	js, err := bundle.Build(".")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, Script()) {
		t.Fatalf("dist/player.js is stale (%d bytes, sources give %d): run go generate ./player", len(Script()), len(js))
	}
}

func TestHandler(t *testing.T) {
	h := Handler(Config{
		MoQURL:     func(r *http.Request) string { return "https://" + r.Host + ":4443/moq" },
		CertSHA256: bytes.Repeat([]byte{0xab}, 32),
	})
	tests := []struct {
		name, method, path string
		status             int
		ctype              string
		contains           []string
	}{
		{"script", "GET", "/player.js", 200, "text/javascript; charset=utf-8", []string{"strata-player"}},
		{"embed", "GET", "/embed/ses_1?token=a.b.c", 200, "text/html; charset=utf-8", []string{
			`session="ses_1"`, `token="a.b.c"`, `src="https://example.test:4443/moq"`, `cert-hash="abab`, `/player.js`}},
		{"embed escapes", "GET", "/embed/ses_1?token=%22%3E%3Cscript%3E", 200, "text/html; charset=utf-8", []string{`token="&#34;&gt;&lt;script&gt;"`}},
		// A refresh URL lands in the page's script as a JS string; none is null.
		{"embed refresh", "GET", "/embed/ses_1?token=a.b.c&refresh=https%3A%2F%2Ftenant.example%2Ftoken%3Fs%3D1", 200, "text/html; charset=utf-8", []string{
			`const refresh = "https://tenant.example/token?s=1";`, `p.tokenRefresh = fromURL`}},
		{"embed refresh path", "GET", "/embed/ses_1?token=a.b.c&refresh=%2Fapi%2Ftoken", 200, "text/html; charset=utf-8", []string{`const refresh = "/api/token";`}},
		{"embed no refresh", "GET", "/embed/ses_1?token=a.b.c", 200, "text/html; charset=utf-8", []string{`const refresh = "";`, `parent.postMessage`}},
		{"embed refresh script", "GET", "/embed/ses_1?token=a.b.c&refresh=javascript%3Aalert(1)", 400, "", nil},
		{"embed refresh protocol-relative", "GET", "/embed/ses_1?token=a.b.c&refresh=%2F%2Fevil.example%2Ft", 400, "", nil},
		{"bad session", "GET", "/embed/a%2Fb", 404, "", nil},
		{"empty session", "GET", "/embed/", 404, "", nil},
		{"post", "POST", "/player.js", 405, "", nil},
		{"other", "GET", "/nope", 404, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://example.test"+tc.path, nil)
			r.Host = "example.test"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.ctype != "" && w.Header().Get("Content-Type") != tc.ctype {
				t.Fatalf("content type %q", w.Header().Get("Content-Type"))
			}
			body, _ := io.ReadAll(w.Body)
			for _, s := range tc.contains {
				if !strings.Contains(string(body), s) {
					t.Fatalf("body lacks %q:\n%.600s", s, body)
				}
			}
		})
	}
}

func TestScriptETag(t *testing.T) {
	h := Handler(Config{})
	r := httptest.NewRequest("GET", "/player.js", nil)
	r.Header.Set("If-None-Match", bundleETag)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Fatalf("status %d", w.Code)
	}
}
