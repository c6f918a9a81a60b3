// Package settings is the Settings > API page: a static page, embedded in the
// binary, on which a workspace admin signs in with an admin key, sees the
// plan and today's usage, and lists, generates and revokes API keys. The page
// calls the public REST API under /v1 on the same origin and nothing else.
package settings

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

// Path is where the page is served.
const Path = "/settings/api"

//go:embed assets/index.html assets/app.js assets/style.css assets/favicon.svg
var assets embed.FS

// files maps each served path to its embedded file and content type.
func files() map[string][2]string {
	return map[string][2]string{
		Path:                  {"assets/index.html", "text/html; charset=utf-8"},
		Path + "/app.js":      {"assets/app.js", "text/javascript; charset=utf-8"},
		Path + "/style.css":   {"assets/style.css", "text/css; charset=utf-8"},
		Path + "/favicon.svg": {"assets/favicon.svg", "image/svg+xml"},
	}
}

// Serves reports whether the page's handler answers r: a GET or HEAD of the
// page or one of its assets. Everything else is the API's (and its 404).
func Serves(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	_, ok := files()[r.URL.Path]
	return ok
}

// securityHeaders are set on every answer: scripts and styles come only from
// this origin (no inline script at all), the page talks only to this origin,
// cannot be framed, leaks no referrer, and is never cached (it handles keys).
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Cache-Control", "no-store"},
}

// Handler serves the page and its assets; paths that Serves refuses get 404.
func Handler() http.Handler {
	type file struct {
		body        []byte
		contentType string
	}
	served := map[string]file{}
	for path, f := range files() {
		b, err := assets.ReadFile(f[0])
		if err != nil {
			panic("settings: embedded asset missing: " + f[0]) // a build defect, caught by any test
		}
		served[path] = file{b, f[1]}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := served[r.URL.Path]
		if !ok || !Serves(r) {
			http.NotFound(w, r)
			return
		}
		for _, h := range securityHeaders {
			w.Header().Set(h[0], h[1])
		}
		w.Header().Set("Content-Type", f.contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
