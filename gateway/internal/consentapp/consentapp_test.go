package consentapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/app/", 200, "text/html; charset=utf-8", `<script src="app.js"`},
		{"GET", "/app/index.html", 200, "text/html; charset=utf-8", "我的数据"},
		{"GET", "/app/app.js", 200, "text/javascript; charset=utf-8", "crypto.subtle.sign"},
		{"GET", "/app/app.css", 200, "text/css; charset=utf-8", ":focus-visible"},
		{"HEAD", "/app/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/app/nope.js", 404, "", ""},
		{"GET", "/app/../consentapp.go", 404, "", ""},
		{"GET", "/other", 404, "", ""},
		{"POST", "/app/", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != CSP {
				t.Errorf("CSP %q", got)
			}
			if tc.status != http.StatusOK {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

// TestNoInlineCode: the CSP forbids inline scripts, styles and event
// handlers, so the page must not rely on any.
func TestNoInlineCode(t *testing.T) {
	html := string(files["index.html"].body)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "http://", "https://"} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
}
