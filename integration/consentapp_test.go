package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/quanchain/quanchain/chaincode/model"
)

// The consent app's browser tests drive Debian's Chromium headless through
// the Chrome DevTools protocol, at a phone's size, against the operator's
// gateway that make up runs. The signatures are made by the browser's
// WebCrypto and verified by the chaincode.
//
// QC_CHROMIUM overrides the browser path; QC_ARTIFACTS keeps the
// screenshots (else they go to a temporary directory); QC_APP_SCREENSHOTS=1
// also refreshes the few committed ones under docs/app/.

const (
	defaultChromium = "/usr/bin/chromium"
	phoneWidth      = 390
	phoneHeight     = 844
)

// docScreens are the screenshots docs/app.md shows.
var docScreens = []string{"01-login", "03-pending", "04-decision", "05-receipt-decision", "06-history", "08-active", "10-devices"}

// browser is one device: a Chromium profile of its own.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context
	shot func(name string)
}

// artefactDir is where this run's screenshots go.
func artefactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("QC_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "consentapp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless Chromium with a fresh profile (a fresh
// IndexedDB, so a new device) and a phone-sized viewport. A missing
// Chromium fails the test: these tests are part of make test.
func newBrowser(t *testing.T, name, shots string) *browser {
	t.Helper()
	exe := os.Getenv("QC_CHROMIUM")
	if exe == "" {
		exe = defaultChromium
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("the consent app's browser tests need Chromium at %s (Debian package \"chromium\": "+
			"scripts/ensure-chromium.sh installs it; QC_CHROMIUM overrides the path): %v", exe, err)
	}
	// The profile is removed after the browser has gone (t.TempDir would
	// race with Chromium's last writes).
	profile, err := os.MkdirTemp("", "qc-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(phoneWidth, phoneHeight),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// cdproto lags Chromium: events it cannot decode are logged, not fatal.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("%s: chromedp: %s", name, msg)
		}
	}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			t.Logf("%s: page exception: %s", name, ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				t.Logf("%s: console %s: %s", name, ev.Type, strings.Join(parts, " "))
			}
		}
	})
	// The first Run starts the browser, on the unbounded context.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	b := &browser{t: t, name: name, ctx: ctx}
	b.shot = func(screen string) {
		t.Helper()
		var png []byte
		b.run("screenshot "+screen, chromedp.CaptureScreenshot(&png))
		if err := os.WriteFile(filepath.Join(shots, screen+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// run runs actions with a bound, failing the test with what was going on.
func (b *browser) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var errText, screen, text string
		ectx, ecancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer ecancel()
		_ = chromedp.Run(ectx, chromedp.Evaluate(`document.querySelector('#error').textContent`, &errText),
			chromedp.Evaluate(`document.querySelector('#view').dataset.screen || ''`, &screen),
			chromedp.Evaluate(`document.querySelector('#view').innerText.slice(0, 600)`, &text))
		b.t.Fatalf("%s: %s: %v (screen %q, error banner %q, showing %q)", b.name, step, err, screen, errText, text)
	}
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	var v string
	b.run("read "+sel+" "+name, read(sel, "el.getAttribute("+jsString(name)+") || ''", &v))
	return v
}

// read waits for a visible element matching sel and evaluates expr on it
// (as el) in one step of the page's own script. The app re-renders views when
// events arrive, so a node found by one protocol call may be gone by the next:
// reading in the page cannot see half of two renders.
func read(sel, expr string, out *string) chromedp.Action {
	js := `(() => { const el = document.querySelector(` + jsString(sel) + `);
		if (!el || !el.getClientRects().length) return null;
		return [` + expr + `]; })()`
	var got []string
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Poll(js, &got).Do(ctx); err != nil {
			return err
		}
		*out = got[0]
		return nil
	})
}

// click clicks the element matching sel as a finger would. When the app
// re-renders between finding the node and pressing it, the node is gone before
// any press was sent (the protocol answers -32000), so finding it again is safe.
func click(sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for attempt := 1; ; attempt++ {
			err := chromedp.Click(sel, chromedp.ByQuery).Do(ctx)
			var gone *cdproto.Error
			if err == nil || attempt == 5 || !errors.As(err, &gone) || gone.Code != -32000 {
				return err
			}
		}
	})
}

// text reads the rendered text of the element matching sel; see read.
func text(sel string, out *string) chromedp.Action { return read(sel, "el.innerText", out) }

// textContent reads the text content of the element matching sel; see read.
func textContent(sel string, out *string) chromedp.Action { return read(sel, "el.textContent", out) }

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (b *browser) eval(step, js string, out any) {
	b.t.Helper()
	b.run(step, chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// login logs c in through the app: the one-time code is read from the
// operator gateway's log, as a developer would. It returns the key id the
// app registered for this device.
func (b *browser) login(c demoCitizen) string {
	b.t.Helper()
	b.run("open the app", chromedp.Navigate(operatorURL+"/app/"), chromedp.WaitVisible("#login-form", chromedp.ByQuery))
	b.run("fill the login form",
		chromedp.SendKeys("#id_number", c.IDNumber, chromedp.ByQuery),
		chromedp.SendKeys("#name", c.Name, chromedp.ByQuery),
		chromedp.SendKeys("#phone", c.Phone, chromedp.ByQuery))
	if b.name == "phone" {
		b.shot("01-login")
	}
	b.run("ask for a code", click("#login-submit"), chromedp.WaitVisible("#code-form", chromedp.ByQuery))
	challenge := b.attr("#code-form", "data-challenge")
	code := ""
	for deadline := time.Now().Add(10 * time.Second); code == "" && time.Now().Before(deadline); {
		if code = devCode(b.t, challenge); code == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if code == "" {
		b.t.Fatalf("%s: no one-time code for challenge %q in the operator gateway's log", b.name, challenge)
	}
	b.run("verify the code",
		chromedp.SendKeys("#code", code, chromedp.ByQuery),
		click("#code-submit"),
		chromedp.WaitVisible(`#view[data-screen="data"] h2`, chromedp.ByQuery))
	b.run("open devices", click(`#tabs a[data-tab="devices"]`),
		chromedp.WaitVisible(`#device-list li[data-mine="yes"]`, chromedp.ByQuery))
	kid := b.attr(`#device-list li[data-mine="yes"]`, "data-key-id")
	// The key pair kept in IndexedDB is a CryptoKeyPair whose private key
	// cannot be exported.
	var kept []struct {
		KeyID       string `json:"kid"`
		Extractable bool   `json:"extractable"`
		Curve       string `json:"curve"`
	}
	b.eval("read IndexedDB", `new Promise((res, rej) => {
		const r = indexedDB.open('quanchain-consent');
		r.onerror = () => rej(r.error);
		r.onsuccess = () => {
			const g = r.result.transaction('keys').objectStore('keys').getAll();
			g.onsuccess = () => res(g.result.map((x) => ({kid: x.keyId, extractable: x.keyPair.privateKey.extractable,
				curve: x.keyPair.privateKey.algorithm.namedCurve})));
		};
	})`, &kept)
	if len(kept) != 1 || kept[0].KeyID != kid || kept[0].Extractable || kept[0].Curve != "P-256" {
		b.t.Fatalf("%s: IndexedDB holds %+v, want one non-extractable P-256 key %s", b.name, kept, kid)
	}
	return kid
}

// keyStatus is the status of key kid of the citizen, as the ledger holds it.
func keyStatus(t *testing.T, citizen *httpClient, kid string) string {
	t.Helper()
	var keys struct {
		Keys []model.DeviceKey `json:"keys"`
	}
	citizen.must("GET", "/citizen/v1/keys", nil, &keys, 200)
	for _, k := range keys.Keys {
		if k.KeyID == kid {
			return k.Status
		}
	}
	return ""
}

// TestConsentApp is the citizen's side of the lending flow in a real
// browser: log in, register the device key, see the bank's request appear
// live, grant it with a WebCrypto signature, see the bank's use appear,
// revoke, and the bank's next fetch is refused; then a second device logs
// in with its own key and revokes the first one.
func TestConsentApp(t *testing.T) {
	people := demoCitizens(t)
	person := people[10]
	shots := artefactDir(t)
	t.Logf("screenshots in %s", shots)

	// The same citizen over the API, to check what the app did: first
	// retire the device keys earlier runs left.
	api := loginFromOwnAddress(t, person)
	var keys struct {
		Keys []model.DeviceKey `json:"keys"`
	}
	api.must("GET", "/citizen/v1/keys", nil, &keys, 200)
	for _, k := range keys.Keys {
		if k.Status == model.StatusActive {
			api.must("DELETE", "/citizen/v1/keys/"+k.KeyID, nil, nil, 204)
		}
	}

	phone := newBrowser(t, "phone", shots)
	kid1 := phone.login(person)
	t.Cleanup(func() {
		if keyStatus(t, api, kid1) == model.StatusActive {
			api.must("DELETE", "/citizen/v1/keys/"+kid1, nil, nil, 204)
		}
	})
	if st := keyStatus(t, api, kid1); st != model.StatusActive {
		t.Fatalf("the app's key %s is %q on the ledger", kid1, st)
	}
	phone.run("open my data", click(`#tabs a[data-tab="data"]`),
		chromedp.WaitVisible(`#view[data-screen="data"] section[data-category]`, chromedp.ByQuery))
	phone.shot("02-data")

	// The bank asks; the request appears on the open screen, with no reload.
	phone.run("open requests waiting", click(`#tabs a[data-tab="pending"]`),
		chromedp.WaitVisible(`#view[data-screen="pending"] .principles`, chromedp.ByQuery),
		chromedp.Evaluate(`window.noReload = true`, nil))
	bank := institution(t, bankURL, "bank")
	cats := []string{"housing_fund", "tax"}
	a := request(t, bank, person, "CREDIT_ASSESSMENT", cats, "2025-11-01", "2026-10-31", 2, "app")
	card := fmt.Sprintf(`#view[data-screen="pending"] [data-auth-id=%q]`, a.ID)
	var same bool
	phone.run("see the request live",
		chromedp.WaitVisible(card, chromedp.ByQuery),
		chromedp.WaitVisible(`.toast[data-kind="requested"]`, chromedp.ByQuery),
		chromedp.Evaluate(`window.noReload === true`, &same))
	if !same {
		t.Fatal("the page was reloaded")
	}
	var shown string
	phone.run("read the request", text(card, &shown))
	for _, want := range []string{"公积金", "2025-11-01", "最多 2 次"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the request card lacks %q: %s", want, shown)
		}
	}
	phone.shot("03-pending")

	// Grant: the screen shows the very bytes it signs.
	phone.run("open the decision", click(card+` button[data-action="GRANT"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="GRANT"]`, a.ID), chromedp.ByQuery))
	var payloadText string
	phone.run("read the payload", textContent("#payload-text", &payloadText))
	var p model.DecisionPayload
	if err := json.Unmarshal([]byte(payloadText), &p); err != nil || p.AuthorizationID != a.ID || p.Action != model.ActionGrant ||
		p.Requester != "BankMSP" || strings.Join(p.Categories, ",") != "housing_fund,tax" {
		t.Fatalf("decision screen shows %q (%v)", payloadText, err)
	}
	phone.shot("04-decision")
	phone.run("sign and grant", click("#sign-button"),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-auth-id=%q] [data-status="GRANTED"]`, a.ID), chromedp.ByQuery))
	grantTx := phone.attr("#receipt", "data-tx")
	var receiptPayload string
	phone.run("read the receipt", textContent("#receipt-payload", &receiptPayload))
	if !strings.Contains(receiptPayload, `"action":"GRANT"`) || grantTx == "" {
		t.Fatalf("receipt: tx %q payload %q", grantTx, receiptPayload)
	}
	phone.shot("05-receipt-decision")

	// The chaincode verified the browser's signature: the bank sees GRANTED.
	var got model.Authorization
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		bank.must("GET", "/v1/authorizations/"+a.ID, nil, &got, 200)
		if got.Status == model.AuthGranted || time.Now().After(deadline) {
			break
		}
	}
	if got.Status != model.AuthGranted {
		t.Fatalf("the bank sees %s", got.Status)
	}
	if got.LastDecision != nil && (got.LastDecision.KeyID != kid1 || got.LastDecision.TxID != grantTx) {
		t.Fatalf("the ledger's decision %+v, want key %s tx %s", got.LastDecision, kid1, grantTx)
	}

	// The bank fetches; the use appears in the history, live.
	phone.run("open the history", click(`#tabs a[data-tab="history"]`),
		chromedp.WaitVisible(`#view[data-screen="history"] h2`, chromedp.ByQuery))
	var data dataResult
	code, raw := fetch(bank, a.ID, cats, "app-fetch-1")
	if code != 200 || json.Unmarshal(raw, &data) != nil || data.AccessID == "" {
		t.Fatalf("bank fetch: %d %s", code, raw)
	}
	use := fmt.Sprintf(`#view[data-screen="history"] [data-access-id=%q]`, data.AccessID)
	phone.run("see the use live", chromedp.WaitVisible(use, chromedp.ByQuery),
		chromedp.WaitVisible(`.toast[data-kind="used"]`, chromedp.ByQuery))
	phone.shot("06-history")
	phone.run("open the use's receipt", click(use+" button[data-receipt]"),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-kind="use"][data-access-id=%q]`, data.AccessID), chromedp.ByQuery))
	if tx := phone.attr("#receipt", "data-tx"); tx != data.TxID {
		t.Fatalf("use receipt tx %q, want %q", tx, data.TxID)
	}
	phone.shot("07-receipt-use")

	// Revoke from the active authorisations; the next fetch is refused.
	active := fmt.Sprintf(`#view[data-screen="active"] [data-auth-id=%q][data-status="GRANTED"]`, a.ID)
	phone.run("open active authorisations", click(`#tabs a[data-tab="active"]`),
		chromedp.WaitVisible(active, chromedp.ByQuery))
	phone.shot("08-active")
	phone.run("revoke", click(active+` button[data-action="REVOKE"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="REVOKE"]`, a.ID), chromedp.ByQuery),
		click("#sign-button"),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-auth-id=%q] [data-status="REVOKED"]`, a.ID), chromedp.ByQuery))
	code, raw = fetch(bank, a.ID, []string{"tax"}, "app-fetch-2")
	if code < 400 || code >= 500 || errorCode(raw) != string(model.CodeAuthRevoked) {
		t.Fatalf("fetch after revocation: %d %s", code, raw)
	}

	// A decision on what is already decided is refused with a clear message.
	var banner string
	phone.run("decide again", chromedp.Evaluate(`location.hash = "#/decide/`+a.ID+`/GRANT"`, nil),
		chromedp.WaitVisible("#error", chromedp.ByQuery), text("#error", &banner))
	if !strings.Contains(banner, "已经处理") {
		t.Fatalf("error banner %q", banner)
	}

	// The English switch keeps the domain terms' Chinese names.
	var tab, principles string
	phone.run("switch to English", chromedp.Evaluate(`location.hash = "#/pending"`, nil),
		chromedp.WaitVisible(`#view[data-screen="pending"] .principles`, chromedp.ByQuery),
		click("#lang"),
		chromedp.WaitVisible(`html[lang="en"]`, chromedp.ByQuery),
		text(`#tabs a[data-tab="pending"]`, &tab),
		text(`#view[data-screen="pending"] .principles`, &principles))
	if !strings.Contains(tab, "Waiting") || !strings.Contains(principles, "逐笔授权") || !strings.Contains(principles, "最少必要") {
		t.Fatalf("English: tab %q, principles %q", tab, principles)
	}
	phone.shot("09-english")
	phone.run("back to Chinese", click("#lang"), chromedp.WaitVisible(`html[lang="zh-CN"]`, chromedp.ByQuery))

	// A second device registers its own key and revokes the first (lost) one.
	tablet := newBrowser(t, "tablet", shots)
	kid2 := tablet.login(person)
	t.Cleanup(func() {
		if keyStatus(t, api, kid2) == model.StatusActive {
			api.must("DELETE", "/citizen/v1/keys/"+kid2, nil, nil, 204)
		}
	})
	if kid2 == kid1 || keyStatus(t, api, kid2) != model.StatusActive {
		t.Fatalf("second device key %s (first %s): %q", kid2, kid1, keyStatus(t, api, kid2))
	}
	lost := fmt.Sprintf(`#device-list li[data-key-id=%q]`, kid1)
	tablet.run("revoke the first device's key",
		chromedp.WaitVisible(lost+`[data-status="ACTIVE"]`, chromedp.ByQuery),
		click(lost+" button[data-revoke]"),
		chromedp.WaitVisible(lost+` button[data-armed="yes"]`, chromedp.ByQuery),
		click(lost+" button[data-revoke]"),
		chromedp.WaitVisible(lost+`[data-status="REVOKED"]`, chromedp.ByQuery))
	tablet.shot("10-devices")
	if st := keyStatus(t, api, kid1); st != model.StatusRevoked {
		t.Fatalf("revoked key %s is %q on the ledger", kid1, st)
	}
	if st := keyStatus(t, api, kid2); st != model.StatusActive {
		t.Fatalf("the second device's key %s is %q", kid2, st)
	}

	// The first device notices on its next start: it holds no valid key.
	phone.run("reload the first device", chromedp.Evaluate(`location.hash = "#/devices"`, nil), chromedp.Reload(),
		chromedp.WaitVisible("#register-key", chromedp.ByQuery))

	if os.Getenv("QC_APP_SCREENSHOTS") == "1" {
		copyDocScreens(t, shots)
	}
}

// copyDocScreens refreshes the screenshots docs/app.md shows.
func copyDocScreens(t *testing.T, shots string) {
	t.Helper()
	dst := filepath.Join("..", "docs", "app")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range docScreens {
		b, err := os.ReadFile(filepath.Join(shots, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
