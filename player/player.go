// Package player is Strata's browser player: TypeScript sources under
// src/, bundled into dist/player.js by the esbuild Go API (go generate),
// embedded here and served by every edge as /player.js, with an
// /embed/{session}?token=... page for iframes.
//
// The bundle defines the <strata-player> element: MoQ over WebTransport
// decoded with WebCodecs, a WHEP fallback, and controller input sent back
// to the session.
package player

//go:generate go run ./internal/gen

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

//go:embed dist/player.js
var bundleJS []byte

// bundleETag identifies the embedded bundle for HTTP caching.
var bundleETag = func() string {
	s := sha256.Sum256(bundleJS)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}()

// Script returns the embedded bundle.
func Script() []byte { return bundleJS }

// Config is what the embed page needs to know about the edge serving it.
type Config struct {
	// MoQURL returns the WebTransport URL of this edge's MoQ endpoint as
	// seen by the browser that sent r (typically the request's host with
	// the MoQ port and path /moq). Nil leaves it to the page's origin.
	MoQURL func(r *http.Request) string
	// CertSHA256 is the SHA-256 of a self-signed media certificate, which
	// the page pins with serverCertificateHashes; nil with real
	// certificates.
	CertSHA256 []byte
	// Logger is nil for slog.Default().
	Logger *slog.Logger
}

// Paths the handler serves.
const (
	ScriptPath = "/player.js"
	EmbedPath  = "/embed/"
)

// sessionRE bounds what an embed path may name; ids are short ASCII.
var sessionRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// maxToken bounds the token echoed into the page.
const maxToken = 4096

type handler struct {
	cfg Config
	log *slog.Logger
}

// Handler serves ScriptPath and EmbedPath (mount it on both).
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &handler{cfg: cfg, log: cfg.Logger.With("component", "player")}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch {
	case r.URL.Path == ScriptPath:
		h.script(w, r)
	case strings.HasPrefix(r.URL.Path, EmbedPath):
		h.embed(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) script(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", bundleETag)
	// Pages on other origins embed the element with a script tag.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == bundleETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(bundleJS)
}

// embedData fills the embed page.
type embedData struct {
	Session, Token, MoQURL, CertHash string
	// Refresh is where the page gets a new token when its own expires
	// (RefreshParam); empty asks the embedding page, if any.
	Refresh string
}

// RefreshParam names the embed page's query parameter with a URL that
// answers a POST with a new viewer token for the session: JSON with a
// "token" field (the origin's viewer answer has one) or the bare token.
// Without it, a framed page asks its parent with postMessage
// ({type: "strata-token-expired", session}) and takes the token of a
// {type: "strata-token", token} message from it.
const RefreshParam = "refresh"

// maxRefreshURL bounds RefreshParam.
const maxRefreshURL = 2048

var embedPage = template.Must(template.New("embed").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Strata player</title>
<style>html,body{margin:0;height:100%;background:#000}strata-player{width:100%;height:100%}</style>
<script src="/player.js"></script>
</head><body>
<strata-player id="player" session="{{.Session}}" token="{{.Token}}"{{if .MoQURL}} src="{{.MoQURL}}"{{end}}{{if .CertHash}} cert-hash="{{.CertHash}}"{{end}} controls stats autoplay></strata-player>
<script>
(() => {
  const p = document.getElementById("player");
  const refresh = {{.Refresh}};
  const fromURL = async () => {
    const r = await fetch(refresh, {method: "POST", headers: {Accept: "application/json"}});
    if (!r.ok) throw new Error("token refresh: HTTP " + r.status);
    const text = (await r.text()).trim();
    try { return JSON.parse(text).token || ""; } catch { return text; }
  };
  const fromParent = () => new Promise((resolve, reject) => {
    const done = (f) => { clearTimeout(t); removeEventListener("message", on); f(); };
    const on = (e) => {
      if (e.source === parent && e.data && e.data.type === "strata-token" && typeof e.data.token === "string") done(() => resolve(e.data.token));
    };
    const t = setTimeout(() => done(() => reject(new Error("no token from the embedding page"))), 10000);
    addEventListener("message", on);
    parent.postMessage({type: "strata-token-expired", session: p.getAttribute("session")}, "*");
  });
  if (refresh) p.tokenRefresh = fromURL;
  else if (parent !== window) p.tokenRefresh = fromParent;
})();
</script>
</body></html>
`))

func (h *handler) embed(w http.ResponseWriter, r *http.Request) {
	session := strings.TrimPrefix(r.URL.Path, EmbedPath)
	if !sessionRE.MatchString(session) {
		http.NotFound(w, r)
		return
	}
	tok := r.URL.Query().Get("token")
	if len(tok) > maxToken {
		http.Error(w, "token too long", http.StatusRequestURITooLong)
		return
	}
	d := embedData{Session: session, Token: tok, Refresh: r.URL.Query().Get(RefreshParam)}
	if d.Refresh != "" && !validRefresh(d.Refresh) {
		http.Error(w, "refresh must be an http(s) URL or an absolute path", http.StatusBadRequest)
		return
	}
	if h.cfg.MoQURL != nil {
		d.MoQURL = h.cfg.MoQURL(r)
	}
	if len(h.cfg.CertSHA256) > 0 {
		d.CertHash = hex.EncodeToString(h.cfg.CertSHA256)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := embedPage.Execute(w, d); err != nil {
		h.log.Debug("embed page write failed", "err", err)
	}
}

// validRefresh accepts an http(s) URL or an absolute path of this origin.
func validRefresh(s string) bool {
	if len(s) > maxRefreshURL {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if u.Scheme == "" {
		return u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(s, "//")
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
