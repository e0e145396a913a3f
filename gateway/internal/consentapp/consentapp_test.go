package consentapp

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
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
		{"GET", "/app/app.js", 200, "text/javascript; charset=utf-8", "startEvents"},
		{"GET", "/app/screens.js", 200, "text/javascript; charset=utf-8", "signBytes"},
		{"GET", "/app/device.js", 200, "text/javascript; charset=utf-8", "navigator.credentials.get"},
		{"GET", "/app/login.js", 200, "text/javascript; charset=utf-8", "/citizen/v1/oidc/start"},
		{"GET", "/app/i18n.js", 200, "text/javascript; charset=utf-8", "长辈模式"},
		{"GET", "/app/core.js", 200, "text/javascript; charset=utf-8", "indexedDB.open"},
		{"GET", "/app/present.js", 200, "text/javascript; charset=utf-8", "/citizen/v1/present/"},
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

// citizenAPICodes are the stable error codes the citizen API can answer:
// its own and the gateway's, the token checks', the ledger client's and
// the chaincode's (which pass through unchanged).
var citizenAPICodes = []string{
	httpapi.CodeLoginUnavailable, httpapi.CodePrivateKeyRefused,
	httpapi.CodeEventsUnavailable, httpapi.CodeCitizenUnavailable, httpapi.CodeSessionExpired,
	httpapi.CodeMalformedJSON, httpapi.CodeInvalidArgument, httpapi.CodeInvalidIDNumber, httpapi.CodeBodyTooLarge,
	httpapi.CodeUnsupportedMedia, httpapi.CodeNotFound, httpapi.CodeMethodNotAllowed, httpapi.CodeRateLimited,
	httpapi.CodeIdempotencyReused, httpapi.CodeIdempotencyInFlight, httpapi.CodeInvalidIdempotency,
	httpapi.CodePseudonymUnavailable, httpapi.CodeInternal,
	httpapi.CodeInvalidTicket, httpapi.CodeTicketExpired, httpapi.CodeConsentLinksUnavailable,
	auth.CodeMissingToken, auth.CodeInvalidToken,
	// The ledger client's own codes (package ledger).
	"LEDGER_UNAVAILABLE", "TX_CONFLICT", "TX_INVALID",
	string(model.CodeInvalidArgument), string(model.CodeMalformedJSON), string(model.CodeInputTooLarge),
	string(model.CodeForbiddenMSP), string(model.CodeNotBootstrapped), string(model.CodeAlreadyBootstrapped),
	string(model.CodeAlreadyExists), string(model.CodeInstitutionNotFound), string(model.CodeInstitutionInactive),
	string(model.CodeCategoryNotFound), string(model.CodePurposeNotFound), string(model.CodePurposeLimitExceeded),
	string(model.CodeCitizenNotFound), string(model.CodeKeyNotFound), string(model.CodeKeyRevoked),
	string(model.CodeInvalidKey), string(model.CodeAuthNotFound), string(model.CodeAuthNotPending),
	string(model.CodeAuthNotGranted), string(model.CodeAuthDenied), string(model.CodeAuthPaused),
	string(model.CodeAuthRevoked), string(model.CodeAuthWithdrawn), string(model.CodeAuthExpired),
	string(model.CodeAuthExhausted), string(model.CodeAuthNotYetValid), string(model.CodeInvalidTransition),
	string(model.CodePayloadInvalid), string(model.CodePayloadMismatch), string(model.CodeSignatureInvalid),
	string(model.CodeCategoryOutOfScope), string(model.CodeRequesterMismatch), string(model.CodeAnchorNotFound),
	string(model.CodeBatchNotFound), string(model.CodeRecordRevoked), string(model.CodeProofInvalid),
	string(model.CodeAccessNotFound), string(model.CodeInternal),
	// Citizen identity (the chaincode's, through the gateway).
	string(model.CodePolicyNotSet), string(model.CodeProofRequired), string(model.CodeIDTokenInvalid),
	string(model.CodeApprovalInvalid), string(model.CodeSubjectMismatch), string(model.CodeUserVerification),
	string(model.CodeAssertionInvalid),
}

// TestErrorTexts: every stable error code the citizen API can answer has
// a message in words in both languages, so the banner never falls back to
// the generic text for a known code, nor shows the code itself.
func TestErrorTexts(t *testing.T) {
	js := string(files["i18n.js"].body)
	start := strings.Index(js, "const ERRORS = {")
	end := strings.Index(js[start:], "\n};\n")
	if start < 0 || end < 0 {
		t.Fatal("i18n.js has no ERRORS table")
	}
	table := js[start : start+end]
	enAt := strings.Index(table, "\n  en: {")
	if enAt < 0 {
		t.Fatal("ERRORS has no en part")
	}
	key := regexp.MustCompile(`(?m)(?:^|[{,]\s*)([A-Z][A-Z_]+):`)
	for lang, part := range map[string]string{"zh": table[:enAt], "en": table[enAt:]} {
		have := map[string]bool{}
		for _, m := range key.FindAllStringSubmatch(part, -1) {
			have[m[1]] = true
		}
		for _, code := range append(citizenAPICodes, "NETWORK") {
			if !have[code] {
				t.Errorf("ERRORS.%s has no text for %s", lang, code)
			}
		}
		if !strings.Contains(part, "generic:") {
			t.Errorf("ERRORS.%s has no generic text", lang)
		}
	}
}

// TestWordsInBothLanguages: every text the scripts name by a literal key
// (t('key')) is in the dictionary in Chinese and in English, so no screen
// shows a key, nor Chinese in the English app.
func TestWordsInBothLanguages(t *testing.T) {
	js := string(files["i18n.js"].body)
	start := strings.Index(js, "const DICT = {")
	end := strings.Index(js[start:], "\n};\n")
	if start < 0 || end < 0 {
		t.Fatal("i18n.js has no DICT table")
	}
	table := js[start : start+end]
	enAt := strings.Index(table, "\n  en: {")
	defined := regexp.MustCompile(`(?:^|[{,]\s*)(?:'([a-zA-Z0-9_.]+)'|([a-zA-Z][a-zA-Z0-9_]*)):`)
	have := map[string]map[string]bool{"zh": {}, "en": {}}
	for lang, part := range map[string]string{"zh": table[:enAt], "en": table[enAt:]} {
		for _, line := range strings.Split(part, "\n") {
			for _, m := range defined.FindAllStringSubmatch(strings.TrimSpace(line), -1) {
				have[lang][m[1]+m[2]] = true
			}
		}
	}
	used := regexp.MustCompile(`\bt\('([a-zA-Z0-9_.]+)'[,)]`)
	n := 0
	for _, f := range []string{"core.js", "screens.js", "present.js", "app.js"} {
		for _, m := range used.FindAllStringSubmatch(string(files[f].body), -1) {
			n++
			for _, lang := range []string{"zh", "en"} {
				if !have[lang][m[1]] {
					t.Errorf("%s: t(%q) has no %s text", f, m[1], lang)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("found only %d uses of t(): the pattern no longer matches the scripts", n)
	}
	for _, key := range []string{"btn.notme", "act.NOT_ME", "reason.NOT_ME", "ev.deviceAdded", "f.fields", "f.contact", "records.title"} {
		for _, lang := range []string{"zh", "en"} {
			if !have[lang][key] {
				t.Errorf("DICT.%s lacks %s", lang, key)
			}
		}
	}
}
