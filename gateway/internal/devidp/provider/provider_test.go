package provider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/quanchain/quanchain/gateway/internal/devidp"
	"github.com/quanchain/quanchain/internal/resident"
)

const (
	testClientID = "gateway.bureau"
	testSecret   = "0123456789abcdef0123456789abcdef"
	testRedirect = "http://127.0.0.1:7080/citizen/v1/oidc/callback"
	citizenName  = "张三"
	citizenPhone = "13800138000"
)

// idNumber returns a valid ID number of the given 17-digit body.
func idNumber(t *testing.T, body string) string {
	t.Helper()
	c, err := resident.CheckChar(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + string(c)
}

// clock is the logins' injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Now()} }

// harness is a provider on a loopback listener and a relying party built
// from go-oidc and x/oauth2, as the gateway builds it.
type harness struct {
	t        *testing.T
	srv      *httptest.Server
	keys     *Keys
	codes    string // the code directory
	clock    *clock
	citizen  string // a registered ID number
	rp       *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newHarness(t *testing.T, stateDir string, tune func(*Config)) *harness {
	t.Helper()
	if stateDir == "" {
		stateDir = filepath.Join(t.TempDir(), "devidp")
	}
	h := &harness{t: t, clock: newClock(), codes: filepath.Join(stateDir, "codes"),
		citizen: idNumber(t, "11010519491231002")}
	reg := filepath.Join(t.TempDir(), "register.jsonl")
	line, _ := json.Marshal(map[string]string{"id_number": strings.ToLower(h.citizen), "name": citizenName, "phone": "+86 138 0013 8000"})
	if err := os.WriteFile(reg, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	h.keys = keys
	h.srv = httptest.NewServer(nil)
	t.Cleanup(h.srv.Close)
	cfg := Config{Issuer: h.srv.URL, Keys: keys, Register: devidp.OpenRegister(reg), Sender: devidp.NewCodeDir(h.codes),
		Client:          Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}},
		LoginsPerMinute: 1000, StartsPerCitizen: 20, CodesPerCitizen: 20, Clock: h.clock.now}
	if tune != nil {
		tune(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Config.Handler = p
	ctx := context.Background()
	op, err := gooidc.NewProvider(ctx, h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h.rp = &oauth2.Config{ClientID: testClientID, ClientSecret: testSecret, Endpoint: op.Endpoint(),
		RedirectURL: testRedirect, Scopes: []string{gooidc.ScopeOpenID}}
	h.verifier = op.Verifier(&gooidc.Config{ClientID: testClientID})
	return h
}

// browser is a cookie-jar client that stops at the relying party's
// redirect URI.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), testRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

type page struct {
	status int
	body   string
	url    *url.URL
	header http.Header
}

func (h *harness) do(c *http.Client, req *http.Request) page {
	h.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	u := resp.Request.URL
	if loc, err := resp.Location(); err == nil {
		u = loc
	}
	return page{status: resp.StatusCode, body: string(b), url: u, header: resp.Header}
}

// start sends the browser to the authorize endpoint with PKCE and a nonce
// and returns the login page.
func (h *harness) start(c *http.Client, verifier, nonce string) page {
	h.t.Helper()
	u := h.rp.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	p := h.do(c, req)
	if p.status != http.StatusOK || p.url.Path != loginPath {
		h.t.Fatalf("authorize: %d at %s\n%s", p.status, p.url, p.body)
	}
	return p
}

var hiddenPattern = regexp.MustCompile(`name="(authRequestID|csrf|lang|challenge_id)" value="([^"]*)"`)

// post submits a form of the page with fields added to its hidden ones.
func (h *harness) post(c *http.Client, from page, action string, fields url.Values) page {
	h.t.Helper()
	form := url.Values{}
	for _, m := range hiddenPattern.FindAllStringSubmatch(from.body, -1) {
		form.Set(m[1], m[2])
	}
	for k, v := range fields {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(c, req)
}

func (h *harness) identity(c *http.Client, from page, id, name, phone string) page {
	return h.post(c, from, "/login/identity", url.Values{"id_number": {id}, "name": {name}, "phone": {phone}})
}

// sentCode reads the code the page's challenge was sent with.
func (h *harness) sentCode(p page) devidp.Code {
	h.t.Helper()
	m := regexp.MustCompile(`id="challenge_id" name="challenge_id" value="([0-9a-f]{32})"`).FindStringSubmatch(p.body)
	if m == nil {
		h.t.Fatalf("no challenge on the page (%d):\n%s", p.status, p.body)
	}
	code, err := devidp.ReadCode(h.codes, m[1])
	if err != nil {
		h.t.Fatal(err)
	}
	return code
}

func errorText(p page) string {
	m := regexp.MustCompile(`<p id="error"[^>]*>([^<]*)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// login runs both steps and returns the final redirect to the client.
func (h *harness) login(c *http.Client, verifier, nonce string) *url.URL {
	h.t.Helper()
	p := h.identity(c, h.start(c, verifier, nonce), h.citizen, citizenName, citizenPhone)
	code := h.sentCode(p)
	done := h.post(c, p, "/login/code", url.Values{"code": {code.Code}})
	if done.status != http.StatusFound || !strings.HasPrefix(done.url.String(), testRedirect) {
		h.t.Fatalf("code: %d at %s\n%s", done.status, done.url, done.body)
	}
	return done.url
}

// TestFlow: a go-oidc relying party logs a citizen in through both forms
// with PKCE, verifies the ID token against the JWKS and reads its claims;
// the code went to the register's phone in a 0600 file in a 0700 directory.
func TestFlow(t *testing.T) {
	h := newHarness(t, "", nil)
	c := h.browser()
	verifier, nonce := oauth2.GenerateVerifier(), "nonce-42"
	p := h.identity(c, h.start(c, verifier, nonce), " "+strings.ToLower(h.citizen)+" ", citizenName, "+86 138-0013-8000")
	if p.status != http.StatusOK {
		t.Fatalf("identity: %d %s", p.status, errorText(p))
	}
	sent := h.sentCode(p)
	if sent.Phone != citizenPhone {
		t.Errorf("code sent to %q, want the register's phone", sent.Phone)
	}
	fi, err := os.Stat(filepath.Join(h.codes, sent.ChallengeID))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("code file: %v %v", fi, err)
	}
	if di, _ := os.Stat(h.codes); di.Mode().Perm() != 0o700 {
		t.Fatalf("code directory mode %v", di.Mode().Perm())
	}
	done := h.post(c, p, "/login/code", url.Values{"code": {sent.Code}})
	if done.status != http.StatusFound || done.url.Query().Get("state") != "state-1" {
		t.Fatalf("code: %d at %s", done.status, done.url)
	}
	ctx := context.Background()
	tok, err := h.rp.Exchange(ctx, done.url.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub      string   `json:"sub"`
		IDNumber string   `json:"id_number"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		Nonce    string   `json:"nonce"`
		AZP      string   `json:"azp"`
		Exp      int64    `json:"exp"`
		Iat      int64    `json:"iat"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != h.keys.Subject(testClientID, h.citizen) || strings.Contains(claims.Sub, h.citizen[:17]) {
		t.Errorf("sub = %q", claims.Sub)
	}
	if claims.IDNumber != h.citizen || claims.ACR != DefaultACR || len(claims.AMR) != 1 || claims.AMR[0] != "otp" ||
		claims.Nonce != nonce || claims.AZP != testClientID || claims.AuthTime != h.clock.now().Unix() {
		t.Errorf("claims = %+v", claims)
	}
	if d := claims.Exp - claims.Iat; d != int64(TokenLifetime/time.Second) {
		t.Errorf("ID token lives %ds", d)
	}
	// The access token reads the same claims at the userinfo endpoint.
	op, _ := gooidc.NewProvider(ctx, h.srv.URL)
	ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uic map[string]any
	_ = ui.Claims(&uic)
	if ui.Subject != claims.Sub || uic["id_number"] != h.citizen {
		t.Errorf("userinfo = %v", uic)
	}
	// A code is exchanged once.
	if _, err := h.rp.Exchange(ctx, done.url.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a code was exchanged twice")
	}
}

// TestClientSecretPost: the client may authenticate in the form too, and
// a wrong PKCE verifier is refused.
func TestClientSecretPost(t *testing.T) {
	h := newHarness(t, "", nil)
	verifier := oauth2.GenerateVerifier()
	code := h.login(h.browser(), verifier, "n").Query().Get("code")
	post := *h.rp
	post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := post.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a wrong verifier was accepted")
	}
	code = h.login(h.browser(), verifier, "n").Query().Get("code")
	if _, err := post.Exchange(context.Background(), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
}

// TestPKCERequired: an authorization without an S256 challenge is refused
// back to the client before any login.
func TestPKCERequired(t *testing.T) {
	h := newHarness(t, "", nil)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"none":  nil,
		"plain": {oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		req, _ := http.NewRequest(http.MethodGet, h.rp.AuthCodeURL("s", opts...), nil)
		p := h.do(h.browser(), req)
		if p.status != http.StatusFound || p.url.Query().Get("error") != "invalid_request" ||
			!strings.Contains(p.url.Query().Get("error_description"), "PKCE") {
			t.Errorf("%s: %d at %s", name, p.status, p.url)
		}
	}
}

// TestWrongCode: wrong codes are refused, the right one still works while
// attempts remain, and MaxCodeAttempts wrong ones spend the code.
func TestWrongCode(t *testing.T) {
	h := newHarness(t, "", nil)
	c := h.browser()
	p := h.identity(c, h.start(c, oauth2.GenerateVerifier(), "n"), h.citizen, citizenName, citizenPhone)
	sent := h.sentCode(p)
	wrong := "000000"
	if sent.Code == wrong {
		wrong = "000001"
	}
	r := h.post(c, p, "/login/code", url.Values{"code": {wrong}})
	if r.status != http.StatusUnauthorized || errorText(r) != texts["zh"][string(msgWrongCode)] {
		t.Fatalf("wrong code: %d %q", r.status, errorText(r))
	}
	if r := h.post(c, p, "/login/code", url.Values{"code": {sent.Code}}); r.status != http.StatusFound {
		t.Fatalf("right code after a wrong one: %d %q", r.status, errorText(r))
	}

	p = h.identity(c, h.start(c, oauth2.GenerateVerifier(), "n"), h.citizen, citizenName, citizenPhone)
	sent = h.sentCode(p)
	for i := 1; i <= MaxCodeAttempts; i++ {
		r = h.post(c, p, "/login/code", url.Values{"code": {wrong}})
	}
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("attempt %d: %d %q", MaxCodeAttempts, r.status, errorText(r))
	}
	if r := h.post(c, p, "/login/code", url.Values{"code": {sent.Code}}); r.status == http.StatusFound {
		t.Fatal("a spent code logged in")
	}
}

// TestCodeExpires: a code is refused once its TTL has passed.
func TestCodeExpires(t *testing.T) {
	h := newHarness(t, "", func(c *Config) { c.CodeTTL = time.Minute })
	c := h.browser()
	p := h.identity(c, h.start(c, oauth2.GenerateVerifier(), "n"), h.citizen, citizenName, citizenPhone)
	sent := h.sentCode(p)
	h.clock.add(time.Minute)
	if r := h.post(c, p, "/login/code", url.Values{"code": {sent.Code}}); r.status != http.StatusUnauthorized {
		t.Fatalf("expired code: %d %q", r.status, errorText(r))
	}
}

// TestNotMatched: a wrong name, a wrong phone and an unknown ID number get
// the same answer, and no code is sent.
func TestNotMatched(t *testing.T) {
	h := newHarness(t, "", nil)
	c := h.browser()
	start := h.start(c, oauth2.GenerateVerifier(), "n")
	var first page
	for i, in := range [][3]string{
		{h.citizen, "李四", citizenPhone},
		{h.citizen, citizenName, "13900139000"},
		{idNumber(t, "11010519800101003"), citizenName, citizenPhone},
	} {
		p := h.identity(c, start, in[0], in[1], in[2])
		if p.status != http.StatusUnprocessableEntity || errorText(p) != texts["zh"][string(msgNotMatched)] {
			t.Fatalf("case %d: %d %q", i, p.status, errorText(p))
		}
		if i == 0 {
			first = p
		} else if p.body != first.body {
			t.Errorf("case %d answered differently from case 0", i)
		}
	}
	if ents, _ := os.ReadDir(h.codes); len(ents) != 0 {
		t.Errorf("%d codes sent", len(ents))
	}
}

// TestCitizenLimit: a citizen's starts are limited whatever the address
// and whatever the outcome, other citizens are not affected, and the
// window passes.
func TestCitizenLimit(t *testing.T) {
	h := newHarness(t, "", func(c *Config) { c.StartsPerCitizen = 2 })
	c := h.browser()
	start := h.start(c, oauth2.GenerateVerifier(), "n")
	if p := h.identity(c, start, h.citizen, "李四", citizenPhone); p.status != http.StatusUnprocessableEntity {
		t.Fatal(p.status)
	}
	if p := h.identity(c, start, h.citizen, citizenName, citizenPhone); p.status != http.StatusOK {
		t.Fatal(p.status)
	}
	p := h.identity(c, start, h.citizen, citizenName, citizenPhone)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("third start: %d", p.status)
	}
	other := idNumber(t, "11010519800101003")
	if p := h.identity(c, start, other, citizenName, citizenPhone); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("another citizen: %d", p.status)
	}
	h.clock.add(citizenWindow)
	if p := h.identity(c, start, h.citizen, citizenName, citizenPhone); p.status != http.StatusOK {
		t.Fatalf("after the window: %d", p.status)
	}
}

// TestAddressLimit: attempts from one address are limited per minute.
func TestAddressLimit(t *testing.T) {
	h := newHarness(t, "", func(c *Config) { c.LoginsPerMinute = 2 })
	c := h.browser()
	start := h.start(c, oauth2.GenerateVerifier(), "n")
	for i := 0; i < 2; i++ {
		h.identity(c, start, h.citizen, "李四", citizenPhone)
	}
	if p := h.identity(c, start, h.citizen, citizenName, citizenPhone); p.status != http.StatusTooManyRequests {
		t.Fatalf("third attempt: %d", p.status)
	}
	h.clock.add(time.Minute)
	if p := h.identity(c, start, h.citizen, citizenName, citizenPhone); p.status != http.StatusOK {
		t.Fatalf("after a minute: %d", p.status)
	}
}

// TestFormBinding: a form is accepted only from the browser that opened
// the login page, with the page's token.
func TestFormBinding(t *testing.T) {
	h := newHarness(t, "", nil)
	c := h.browser()
	start := h.start(c, oauth2.GenerateVerifier(), "n")
	if p := h.identity(h.browser(), start, h.citizen, citizenName, citizenPhone); p.status != http.StatusForbidden {
		t.Fatalf("another browser: %d", p.status)
	}
	forged := page{body: strings.Replace(start.body, `name="csrf" value="`, `name="csrf" value="x`, 1)}
	if p := h.identity(c, forged, h.citizen, citizenName, citizenPhone); p.status != http.StatusForbidden {
		t.Fatalf("forged token: %d", p.status)
	}
	// Another browser cannot open the page of a request already bound.
	id := regexp.MustCompile(`name="authRequestID" value="([0-9a-f]+)"`).FindStringSubmatch(start.body)[1]
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+loginPath+"?authRequestID="+id, nil)
	if p := h.do(h.browser(), req); p.status != http.StatusBadRequest {
		t.Fatalf("another browser opened the page: %d", p.status)
	}
}

// TestLanguage: Chinese first, English on request.
func TestLanguage(t *testing.T) {
	h := newHarness(t, "", nil)
	c := h.browser()
	start := h.start(c, oauth2.GenerateVerifier(), "n")
	if !strings.Contains(start.body, "统一身份认证（开发环境）") || !strings.Contains(start.body, `id="lang"`) {
		t.Fatal("the page is not Chinese first")
	}
	p := h.post(c, start, "/login/identity", url.Values{"lang": {"en"}, "id_number": {"x"}, "name": {"n"}, "phone": {"1"}})
	if p.status != http.StatusBadRequest || errorText(p) != texts["en"][string(msgInvalidID)] {
		t.Fatalf("%d %q", p.status, errorText(p))
	}
}

// TestRestartKeepsKeys: a provider restarted on the same state directory
// publishes the same JWKS, and its key files are 0600.
func TestRestartKeepsKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devidp")
	jwks := func() string {
		h := newHarness(t, dir, nil)
		defer h.srv.Close()
		resp, err := http.Get(h.srv.URL + "/keys")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first, second := jwks(), jwks()
	if first != second || !strings.Contains(first, `"RS256"`) {
		t.Fatalf("JWKS changed over a restart:\n%s\n%s", first, second)
	}
	for _, f := range []string{signingKeyFile, subjectKeyFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	k, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.JWKSJSON()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != k.KeyID() ||
		!strings.Contains(first, k.KeyID()) {
		t.Fatalf("JWKSJSON = %s", b)
	}
}

func TestConfigValidate(t *testing.T) {
	keys, err := LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ok := func() Config {
		return Config{Issuer: "http://127.0.0.1:7085", Keys: keys, Register: devidp.OpenRegister("x"), Sender: devidp.NewCodeDir("y"),
			Client: Client{ID: "c", Secret: testSecret, RedirectURIs: []string{testRedirect}}}
	}
	c := ok()
	if err := c.Validate(); err != nil || c.IDNumberClaim != DefaultIDNumberClaim || c.ACR != DefaultACR || c.CodeTTL != DefaultCodeTTL {
		t.Fatalf("%v %+v", err, c)
	}
	for name, bad := range map[string]func(*Config){
		"issuer path":  func(c *Config) { c.Issuer = "http://127.0.0.1:7085/idp" },
		"issuer":       func(c *Config) { c.Issuer = "127.0.0.1:7085" },
		"short secret": func(c *Config) { c.Client.Secret = "short" },
		"no redirect":  func(c *Config) { c.Client.RedirectURIs = nil },
		"claim":        func(c *Config) { c.IDNumberClaim = "sub" },
		"claim syntax": func(c *Config) { c.IDNumberClaim = "ID-Number" },
		"code TTL":     func(c *Config) { c.CodeTTL = time.Hour },
	} {
		c := ok()
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A browser applies the login pages' CSP form-action to the redirects after
// the code form is posted: without the client's origin there, the browser
// stops at the provider and never reaches the relying party.
func TestFormActionNamesRedirectOrigins(t *testing.T) {
	got := formAction([]string{"http://localhost:7080/citizen/v1/oidc/callback", "https://app.example/cb", "http://localhost:7080/other", "::bad"})
	if want := "'self' http://localhost:7080 https://app.example"; got != want {
		t.Fatalf("form-action %q, want %q", got, want)
	}
	if got := formAction(nil); got != "'self'" {
		t.Fatalf("form-action without redirects %q, want 'self'", got)
	}
}
