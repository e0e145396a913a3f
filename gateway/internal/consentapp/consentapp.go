// Package consentapp is the citizens' consent app: a static, dependency-free
// web app (HTML, CSS and JavaScript, no build step) embedded in the gateway
// binary and served by the operator's gateway under /app/. It talks only to
// the citizen API of the same origin.
package consentapp

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path the app is served under.
const Prefix = "/app/"

// CSP is the Content-Security-Policy of every answer: scripts, styles and
// connections from the gateway's own origin only, no inline code, no
// framing.
const CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"

//go:embed static
var static embed.FS

// files are the app's files by name, read once.
var files = mustLoad()

type file struct {
	body        []byte
	contentType string
}

func mustLoad() map[string]file {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	out := map[string]file{}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := types[path.Ext(name)]
		if !ok {
			return nil
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		out[name] = file{body: b, contentType: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// Handler serves the app: GET or HEAD of /app/ (index.html) and of the
// app's files under /app/; anything else is 404. Every answer carries the
// strict CSP and is revalidated on each load, so a new gateway version is
// picked up at once.
func Handler() http.Handler {
	modTime := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, modTime, bytes.NewReader(f.body))
	})
}
