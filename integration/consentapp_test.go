package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/quanchain/quanchain/chaincode/model"
)

// The consent app's browser tests drive Debian's Chromium headless through
// the Chrome DevTools protocol, at a phone's size, against the operator's
// gateway that make up runs. The citizen logs in at the development
// identity provider; the signatures are passkey assertions made by a virtual
// authenticator (Chromium's WebAuthn domain: CTAP2, internal, resident keys,
// user verified), and verified by the chaincode. The app is opened at
// localhost: browsers refuse an IP address as a WebAuthn rp id.
//
// Every screen the test visits is audited with axe-core (vendored under
// testdata/axe-core, injected by the test only: the app does not ship it),
// in Chinese, in English and in 长辈模式; a serious or critical violation
// fails the test.
//
// QC_CHROMIUM overrides the browser path; QC_ARTIFACTS keeps the
// screenshots (else they go to a temporary directory); QC_APP_SCREENSHOTS=1
// also refreshes the committed ones under docs/app/, at 390 and 375 px wide.

const (
	defaultChromium = "/usr/bin/chromium"
	phoneWidth      = 390
	phoneHeight     = 844
	narrowWidth     = 375 // the other common phone width the docs show
	narrowHeight    = 812
)

// docScreens are the screenshots docs/app.md shows, each at 390 px (NAME.png)
// and 375 px (NAME-375.png) wide; the 2x ones are in 长辈模式.
var docScreens = []string{"01-login", "02-data", "03-pending", "04-decision", "05-receipt-decision", "06-history",
	"07-receipt-use", "08-active", "10-devices", "11-relogin",
	"21-elder-data", "23-elder-pending", "24-elder-decision", "25-elder-receipt", "28-elder-active"}

// browser is one device: a Chromium profile of its own.
type browser struct {
	t             *testing.T
	name          string
	ctx           context.Context
	shot          func(name string)
	authenticator webauthn.AuthenticatorID
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
	// The phone's authenticator: a platform passkey with user verification
	// (its screen lock), answering every prompt as the citizen would.
	var authenticator webauthn.AuthenticatorID
	if err := chromedp.Run(ctx, webauthn.Enable().WithEnableUI(false), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		authenticator, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	})); err != nil {
		t.Fatalf("%s: virtual authenticator: %v", name, err)
	}
	b := &browser{t: t, name: name, ctx: ctx, authenticator: authenticator}
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

// docShot takes screen's screenshot at 390 px wide and again at 375 px,
// without the passing notifications, which would hide part of it.
func (b *browser) docShot(screen string) {
	b.t.Helper()
	b.run("clear notifications", chromedp.Evaluate(`document.querySelectorAll('.toast').forEach((el) => el.remove()); true`, nil))
	b.shot(screen)
	b.run("narrow to 375 px", chromedp.EmulateViewport(narrowWidth, narrowHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.shot(screen + "-375")
	b.run("back to 390 px", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile))
}

// axeSource is axe-core's script, read once.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	return string(b), err
})

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// audit runs axe-core on the page as it is and fails the test on every
// serious or critical violation. The script is injected through the
// DevTools protocol, so the app's CSP stays as it is.
func (b *browser) audit(where string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	var loaded bool
	b.run("look for axe", chromedp.Evaluate(`typeof window.axe === 'object'`, &loaded))
	if !loaded {
		b.run("inject axe-core", chromedp.Evaluate(src+"\n;true", &loaded))
	}
	var res struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	b.eval("axe: "+where, `axe.run(document).then((r) => ({passes: r.passes.length, violations: r.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' '))}))}))`, &res)
	if res.Passes == 0 {
		b.t.Errorf("%s: %s: axe-core checked nothing", b.name, where)
	}
	for _, v := range res.Violations {
		b.t.Errorf("%s: %s: axe %s (%s): %s at %v", b.name, where, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// failNext makes the app's next call of path answer status with an error
// body of code (status 0: the network fails), by wrapping the page's
// fetch. Only the test does this; the app's code is untouched.
func (b *browser) failNext(path string, status int, code string) {
	b.t.Helper()
	b.run("fail the next "+path, chromedp.Evaluate(`(() => {
		if (!window.__qcFetch) {
			window.__qcFetch = window.fetch;
			window.__qcFail = [];
			window.fetch = (input, init) => {
				const url = typeof input === 'string' ? input : input.url;
				const i = window.__qcFail.findIndex((f) => url.startsWith(f.path));
				if (i < 0) return window.__qcFetch(input, init);
				const f = window.__qcFail.splice(i, 1)[0];
				if (f.status === 0) return Promise.reject(new TypeError('Failed to fetch'));
				return Promise.resolve(new Response(JSON.stringify({error: {code: f.code, message: f.message, request_id: 'test-request'}}),
					{status: f.status, headers: {'Content-Type': 'application/json'}}));
			};
		}
		window.__qcFail.push({path: `+jsString(path)+`, status: `+fmt.Sprint(status)+`, code: `+jsString(code)+`,
			message: `+jsString(strings.ToLower(code)+" (test)")+`});
		return true;
	})()`, nil))
}

// focusedOn reports whether the focused element matches sel.
func (b *browser) focusedOn(sel string) bool {
	b.t.Helper()
	var ok bool
	b.run("read the focus", chromedp.Evaluate(`!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`, &ok))
	return ok
}

// screen checks what every screen change must do: the page title names
// the screen, and focus is on the screen's heading (or on sel).
func (b *browser) screen(title, focus string) {
	b.t.Helper()
	var got string
	b.run("read the title", chromedp.Title(&got))
	if !strings.HasPrefix(got, title) {
		b.t.Errorf("%s: page title %q, want it to start with %q", b.name, got, title)
	}
	if focus == "" {
		focus = "#view h2"
	}
	if !b.focusedOn(focus) {
		var where string
		b.run("read the focus", chromedp.Evaluate(`document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''`, &where))
		b.t.Errorf("%s: %s: focus is on %s, want %s", b.name, title, where, focus)
	}
}

// visibleText is what the page shows (folded details stay folded).
func (b *browser) visibleText() string {
	b.t.Helper()
	var s string
	b.run("read the page", chromedp.Evaluate(`document.body.innerText`, &s))
	return s
}

// noRawCodes fails the test when the page shows one of codes.
func (b *browser) noRawCodes(where string, codes ...string) {
	b.t.Helper()
	shown := b.visibleText()
	for _, c := range codes {
		if strings.Contains(shown, c) {
			b.t.Errorf("%s: %s shows %q: %s", b.name, where, c, shown)
		}
	}
}

// run runs actions with a bound, failing the test with what was going on.
func (b *browser) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var errText, screen, text, page string
		ectx, ecancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer ecancel()
		// Outside the app (at the identity provider, say) only the page's
		// address and text say where the browser is.
		_ = chromedp.Run(ectx, chromedp.Evaluate(`location.href + ' — ' + (document.body ? document.body.innerText.slice(0, 400) : '')`, &page))
		_ = chromedp.Run(ectx, chromedp.Evaluate(`document.querySelector('#error').textContent`, &errText),
			chromedp.Evaluate(`document.querySelector('#view').dataset.screen || ''`, &screen),
			chromedp.Evaluate(`document.querySelector('#view').innerText.slice(0, 600)`, &text))
		b.t.Fatalf("%s: %s: %v (screen %q, error banner %q, showing %q; page %q)", b.name, step, err, screen, errText, text, page)
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

// login logs c in through the app: the login screen explains the identity
// provider and the passkey; on a new device the app creates the passkey
// (the virtual authenticator answers) and goes to the identity provider,
// where the test types the ID number, name and phone and the one-time code
// read from the provider's code file, as a developer would; back in the app,
// the session starts on the screen the citizen was on. It returns the key id
// of this device. With checks, it audits the login screen first.
func (b *browser) login(c demoCitizen, checks bool) string {
	b.t.Helper()
	b.run("open the app", chromedp.Navigate(appOrigin+"/app/"), chromedp.WaitVisible("#login-form", chromedp.ByQuery))
	enrolled := b.attr("#login-form", "data-enrolled") == "yes"
	if checks {
		// Logged out, neither the tabs nor 退出 show.
		var shown []string
		b.eval("what shows while logged out",
			`['#tabs', '#logout'].filter((s) => getComputedStyle(document.querySelector(s)).display !== 'none')`, &shown)
		if len(shown) != 0 {
			b.t.Errorf("%s: logged out, %v still show", b.name, shown)
		}
		b.screen("登录", "")
		var intro string
		b.run("read the login screen", text("#login-form", &intro))
		for _, want := range []string{"统一身份认证", "通行密钥", "锁屏"} {
			if !enrolled && !strings.Contains(intro, want) {
				b.t.Errorf("%s: the login screen does not explain %q: %s", b.name, want, intro)
			}
		}
		b.audit("log in")
		if !enrolled {
			b.docShot("01-login")
		}
	}
	devName := deviceName(b.name)
	if !enrolled {
		// The device is named at login: the app suggests a name from the
		// browser, the citizen may change it.
		var suggested string
		b.run("read the suggested device name", chromedp.Value("#device_name", &suggested, chromedp.ByQuery))
		if strings.TrimSpace(suggested) == "" {
			b.t.Errorf("%s: no device name suggested", b.name)
		}
		b.run("name the device", chromedp.SetValue("#device_name", devName, chromedp.ByQuery))
	}
	b.run("log in with the identity provider", click("#login-submit"))
	b.providerLogin(c)
	b.run("back in the app", chromedp.WaitVisible(`#view[data-screen="data"] h2`, chromedp.ByQuery))
	var addr string
	b.run("read the address", chromedp.Location(&addr))
	if strings.Contains(addr, "ticket=") || strings.Contains(addr, "?r=") {
		b.t.Errorf("%s: the ticket stays in the address bar: %s", b.name, addr)
	}
	b.run("open devices", click(`#tabs a[data-tab="devices"]`),
		chromedp.WaitVisible(`#device-list li[data-mine="yes"]`, chromedp.ByQuery))
	kid := b.attr(`#device-list li[data-mine="yes"]`, "data-key-id")
	if got := b.attr(`#device-list li[data-mine="yes"] [data-device-name]`, "data-device-name"); !enrolled && got != devName {
		b.t.Errorf("%s: the device list names this device %q, want %q", b.name, got, devName)
	}
	if kind, proof := b.attr(`#device-list li[data-mine="yes"]`, "data-kind"), b.attr(`#device-list li[data-mine="yes"]`, "data-proof"); kind != "webauthn" {
		b.t.Errorf("%s: this device's key is of kind %q (proof %q), want a passkey", b.name, kind, proof)
	}
	b.checkKept(kid)
	return kid
}

// providerLogin fills the development identity provider's forms in the
// page: the ID number, name and phone, then the one-time code from the
// provider's code file.
func (b *browser) providerLogin(c demoCitizen) {
	b.t.Helper()
	since := time.Now().Add(-time.Second)
	b.run("the identity provider asks who I am",
		chromedp.WaitVisible(`input[name="id_number"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="id_number"]`, c.IDNumber, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="name"]`, c.Name, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="phone"]`, c.Phone, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('input[name="id_number"]').form.requestSubmit(); true`, nil),
		chromedp.WaitVisible(`input[name="code"]`, chromedp.ByQuery))
	var challenge string
	b.run("read the challenge", chromedp.Evaluate(`(document.querySelector('input[name="challenge_id"]') || {}).value || ''`, &challenge))
	code := waitDevIDPCode(b.t, c.Phone, challenge, since)
	b.run("type the one-time code",
		chromedp.SendKeys(`input[name="code"]`, code, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('input[name="code"]').form.requestSubmit(); true`, nil))
}

// checkKept checks what the app keeps of this device in IndexedDB: the
// passkey's key id and credential id, enrolled, and no secret left.
func (b *browser) checkKept(kid string) {
	b.t.Helper()
	var kept []struct {
		Kind         string `json:"kind"`
		KeyID        string `json:"keyId"`
		CredentialID string `json:"credentialId"`
		Status       string `json:"status"`
		Secret       string `json:"secret"`
		KeyPair      any    `json:"keyPair"`
	}
	b.eval("read IndexedDB", `new Promise((res, rej) => {
		const r = indexedDB.open('quanchain-consent');
		r.onerror = () => rej(r.error);
		r.onsuccess = () => {
			const g = r.result.transaction('keys').objectStore('keys').getAll();
			g.onsuccess = () => res(g.result.map((x) => ({kind: x.kind, keyId: x.keyId, credentialId: x.credentialId,
				status: x.status, secret: x.secret || '', keyPair: x.keyPair ? 'yes' : null})));
		};
	})`, &kept)
	if len(kept) != 1 || kept[0].Kind != "webauthn" || kept[0].KeyID != kid || kept[0].CredentialID == "" ||
		kept[0].Status != "enrolled" || kept[0].Secret != "" || kept[0].KeyPair != nil {
		b.t.Fatalf("%s: IndexedDB holds %+v, want this device's enrolled passkey %s and no secret", b.name, kept, kid)
	}
	// The virtual authenticator holds the one passkey, resident.
	var creds []*webauthn.Credential
	b.run("read the authenticator", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(b.authenticator).Do(ctx)
		return err
	}))
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		b.t.Errorf("%s: the authenticator holds %d credentials", b.name, len(creds))
	}
}

// pairByApproval is a new device let in by an enrolled one: the new
// device creates its passkey and shows its device code; the enrolled
// device types the code, sees the new device's name and approves with
// its passkey; the new device then logs in by itself. It returns the new
// device's key id.
func pairByApproval(newer, enrolled *browser) string {
	t := newer.t
	t.Helper()
	devName := deviceName(newer.name)
	newer.run("open the app", chromedp.Navigate(appOrigin+"/app/"), chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.SetValue("#device_name", devName, chromedp.ByQuery),
		click("#login-approve"),
		chromedp.WaitVisible("#device-code code", chromedp.ByQuery))
	newer.screen("由已有设备批准", "")
	newer.audit("waiting for an approval")
	var code, waiting string
	newer.run("read the device code", textContent("#device-code code", &code), text("#pair-status", &waiting))
	if code == "" || !strings.Contains(waiting, "等待") || newer.attr("#pair-status", "aria-live") != "polite" {
		t.Errorf("the new device shows code %q, status %q", code, waiting)
	}
	enrolled.open("#/devices", "#approve-form")
	var found string
	enrolled.run("enter the device code", chromedp.SendKeys("#device_code", code, chromedp.ByQuery), click("#approve-lookup"),
		chromedp.WaitVisible("#approve-device", chromedp.ByQuery), text("#approve-device-card", &found))
	if !strings.Contains(found, devName) {
		t.Errorf("the approving device shows %q, want the new device's name %q", found, devName)
	}
	if enrolled.focusedOn("#approve-device") {
		t.Error("the approve button is the focused default")
	}
	enrolled.audit("approve a new device")
	kid := enrolled.attr("#approve-device-card", "data-key-id")
	enrolled.run("approve with the passkey", click("#approve-device"),
		chromedp.WaitVisible(fmt.Sprintf(`#device-list li[data-key-id=%q][data-proof="device"]`, kid), chromedp.ByQuery))
	newer.run("the new device logs in", chromedp.WaitVisible(`#view[data-screen="data"] h2`, chromedp.ByQuery),
		click(`#tabs a[data-tab="devices"]`), chromedp.WaitVisible(`#device-list li[data-mine="yes"]`, chromedp.ByQuery))
	if got := newer.attr(`#device-list li[data-mine="yes"]`, "data-key-id"); got != kid {
		t.Fatalf("the new device's key is %s, the approved one %s", got, kid)
	}
	var proof string
	newer.run("read how it was added", text(fmt.Sprintf(`#device-list li[data-key-id=%q] [data-field="proof"]`, kid), &proof))
	if !strings.Contains(proof, "批准") || !strings.Contains(proof, deviceName(enrolled.name)) {
		t.Errorf("the approved device's proof reads %q", proof)
	}
	newer.checkKept(kid)
	return kid
}

// sessionWarning moves the page's clock to 90 seconds before the token
// expires: the warning dialog opens with focus on 继续使用 and passes the
// accessibility audit; 继续使用 (with the real clock back) renews the
// session at the gateway, closes the dialog and leaves the screen as it was.
func (b *browser) sessionWarning() {
	b.t.Helper()
	var before, screenBefore, screenAfter string
	b.run("read the session", chromedp.Evaluate(`state.token`, &before), chromedp.Evaluate(`$('#view').dataset.screen`, &screenBefore))
	b.run("move the clock to the warning", chromedp.Evaluate(`(() => {
		const real = Date.now.bind(Date);
		const skew = jwtClaims(state.token).exp * 1000 - real() - 90 * 1000;
		window.__qcRealNow = real;
		Date.now = () => real() + skew;
		checkSession();
		return true;
	})()`, nil), chromedp.WaitVisible("#session-dialog", chromedp.ByQuery))
	var body string
	b.run("read the warning", text("#session-body", &body))
	if !strings.Contains(body, "过期") || !b.focusedOn("#session-continue") {
		b.t.Errorf("%s: session warning %q, focus on 继续使用: %v", b.name, body, b.focusedOn("#session-continue"))
	}
	b.audit("session warning")
	var renewed bool
	b.run("继续使用", chromedp.Evaluate(`Date.now = window.__qcRealNow; true`, nil), click("#session-continue"),
		chromedp.WaitNotPresent("#session-dialog", chromedp.ByQuery))
	b.eval("wait for the renewed token", `new Promise((res) => {
		const start = Date.now();
		const iv = setInterval(() => {
			if (state.token !== `+jsString(before)+` || Date.now() - start > 10000) { clearInterval(iv); res(state.token !== `+jsString(before)+`); }
		}, 50);
	})`, &renewed)
	b.run("read the screen", chromedp.Evaluate(`$('#view').dataset.screen`, &screenAfter))
	if !renewed || screenAfter != screenBefore {
		b.t.Errorf("%s: 继续使用: renewed %v, screen %q → %q", b.name, renewed, screenBefore, screenAfter)
	}
}

// deviceName is the name the test gives the browser profile name at login.
func deviceName(profile string) string { return "测试" + profile }

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

// sign confirms the open decision with the device key and waits for its
// receipt, where focus must land on the result.
func (b *browser) sign(authID, action, status string) string {
	b.t.Helper()
	// The passkey prompt is the citizen's confirmation: the button is
	// never the focused default, and says what the phone will ask.
	b.run("wait for the sign button", chromedp.WaitVisible("#sign-button", chromedp.ByQuery))
	if b.focusedOn("#sign-button") {
		b.t.Errorf("%s: the sign button is the focused default", b.name)
	}
	if b.attr("#sign-button", "aria-describedby") != "sign-how" {
		b.t.Errorf("%s: the sign button does not say the phone will ask to unlock", b.name)
	}
	b.run("sign: "+action, click("#sign-button"),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-auth-id=%q][data-action=%q] [data-status=%q]`, authID, action, status), chromedp.ByQuery))
	if !b.focusedOn("#receipt-result") {
		b.t.Errorf("%s: after signing %s, focus is not on the result", b.name, action)
	}
	return b.attr("#receipt", "data-tx")
}

// open shows a screen through the address bar, as a bookmark would.
func (b *browser) open(hash, ready string) {
	b.t.Helper()
	b.run("open "+hash, chromedp.Evaluate(`location.hash = `+jsString(hash), nil), chromedp.WaitVisible(ready, chromedp.ByQuery))
}

// presentReturnURL is the bank's demo app client's registered return URL
// (quanchain-gateway's DemoReturnURL).
const presentReturnURL = "http://127.0.0.1:7999/consent-return"

// presentFlow is the citizen-present flow: the bank makes a consent link on
// a new request, the app opens it on the request with the bank's return
// host shown plainly, the citizen denies it, and the app offers 返回 with
// the bank's state, the request and the outcome on the registered URL.
func (b *browser) presentFlow(person demoCitizen) {
	t := b.t
	t.Helper()
	bank := institution(t, bankURL, "bank")
	a := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "present")
	state := "it-" + runID
	var link struct {
		URL       string `json:"url"`
		QRPNG     string `json:"qr_png"`
		ExpiresAt string `json:"expires_at"`
	}
	// An unregistered return URL is refused.
	bank.must("POST", "/v1/authorizations/"+a.ID+"/consent-link", map[string]string{"return_url": "https://evil.example/back", "state": state}, nil, 422)
	bank.must("POST", "/v1/authorizations/"+a.ID+"/consent-link", map[string]string{"return_url": presentReturnURL, "state": state}, &link, 200)
	hashAt := strings.Index(link.URL, "#/present/")
	if hashAt < 0 || link.QRPNG == "" || link.ExpiresAt == "" {
		t.Fatalf("consent link %+v", link)
	}
	b.open(link.URL[hashAt:], `#present-request[data-auth-id="`+a.ID+`"]`)
	var host string
	b.run("read the return host", text("#present-host", &host))
	if !strings.Contains(host, "127.0.0.1:7999") {
		t.Errorf("the present screen does not show the return host: %q", host)
	}
	b.audit("present")
	b.run("deny from the present screen", click("#present-deny"),
		chromedp.WaitVisible(`#decision-payload[data-action="DENY"]`, chromedp.ByQuery),
		click("#sign-button"),
		chromedp.WaitVisible(`#present-return[data-outcome="DENIED"]`, chromedp.ByQuery))
	back := b.attr("#present-return", "href")
	want := presentReturnURL + "?"
	if !strings.HasPrefix(back, want) || !strings.Contains(back, "outcome=DENIED") ||
		!strings.Contains(back, "authorization_id="+a.ID) || !strings.Contains(back, "state="+state) {
		t.Errorf("返回 goes to %q", back)
	}
	b.audit("present: decided")
}

// TestConsentApp is the citizen's side of the lending flow in a real
// browser: log in at the identity provider, which enrols the device's
// passkey (a second login reuses it; an impostor never gets a code), see the
// bank's request appear live, grant it with a passkey assertion (the ledger
// says user verified), see the bank's use appear, revoke, and the bank's
// next fetch is refused; errors in words, English, 长辈模式 with a claim
// answered yes/no; then a second device is added by the first one's
// approval, grants with its own passkey and revokes the first one, which
// asks for a new login.
func TestConsentApp(t *testing.T) {
	people := demoCitizens(t)
	person := people[10]
	shots := artefactDir(t)
	t.Logf("screenshots in %s", shots)

	// The same citizen over the API, to check what the app did: first
	// retire the device keys earlier runs left.
	api, _ := oidcLogin(t, person, nil)
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
	kid1 := phone.login(person, true)
	t.Cleanup(func() {
		if keyStatus(t, api, kid1) == model.StatusActive {
			api.must("DELETE", "/citizen/v1/keys/"+kid1, nil, nil, 204)
		}
	})
	if st := keyStatus(t, api, kid1); st != model.StatusActive {
		t.Fatalf("the app's key %s is %q on the ledger", kid1, st)
	}
	phone.screen("我的设备", "")
	phone.audit("devices")

	// A second login on the same device goes to the identity provider
	// only: the passkey is reused, no new one is made or enrolled.
	phone.run("log out", click("#logout"), chromedp.WaitVisible(`#login-form[data-enrolled="yes"]`, chromedp.ByQuery))
	phone.audit("log in on an enrolled device")
	if again := phone.login(person, false); again != kid1 {
		t.Fatalf("the second login on the same device uses key %s, want the passkey %s", again, kid1)
	}

	// Someone who knows the ID number but not the name and phone it is
	// registered with never gets a one-time code.
	impostor := person
	impostor.Name, impostor.Phone = "冒名者", "13800000000"
	// From now: the citizen's own login just before wrote a code file.
	since := time.Now()
	if ticket, page := providerLogin(t, impostor, appOrigin+"/citizen/v1/oidc/start?return_to=%2Fapp%2F", false); ticket != "" || page == "" {
		t.Errorf("an impersonation attempt got ticket %q, page %q", ticket, page)
	}
	time.Sleep(time.Second)
	if devIDPCode(t, person.Phone, "", since) != "" || devIDPCode(t, impostor.Phone, "", since) != "" {
		t.Error("the identity provider sent a one-time code for a name and phone that do not match the register")
	}

	phone.sessionWarning()
	phone.presentFlow(person)
	phone.run("open my data", click(`#tabs a[data-tab="data"]`),
		chromedp.WaitVisible(`#view[data-screen="data"] section[data-category]`, chromedp.ByQuery))
	phone.screen("我的数据", "")
	phone.noRawCodes("my data", "默克尔根")
	phone.audit("my data")
	phone.docShot("02-data")
	// A category's records, with their values under the category's field
	// names; hashes, batches and anchors folded under 技术详情.
	firstCat := phone.attr(`#view[data-screen="data"] section[data-category]`, "data-category")
	phone.run("open my records", click(fmt.Sprintf(`[data-records=%q]`, firstCat)),
		chromedp.WaitVisible(fmt.Sprintf(`#record-list[data-category=%q] li[data-record] [data-value]`, firstCat), chromedp.ByQuery))
	phone.noRawCodes("my records", "默克尔根", "SHA-256", "citizen_id", person.IDNumber)
	var recordText string
	phone.run("read a record", text(`#record-list li[data-record]`, &recordText))
	if !strings.Contains(recordText, "登记日期") && !strings.Contains(recordText, "记录日期") && !strings.Contains(recordText, "结算日期") &&
		!strings.Contains(recordText, "违法日期") {
		t.Errorf("a record of %s reads %q: no field names", firstCat, recordText)
	}
	phone.audit("my records")
	phone.run("back to my data", click(`#tabs a[data-tab="data"]`),
		chromedp.WaitVisible(`#view[data-screen="data"] section[data-category]`, chromedp.ByQuery))

	// The bank asks; the request appears on the open screen, with no reload.
	phone.run("open requests waiting", click(`#tabs a[data-tab="pending"]`),
		chromedp.WaitVisible(`#view[data-screen="pending"] .principles`, chromedp.ByQuery),
		chromedp.Evaluate(`window.noReload = true`, nil))
	phone.screen("待处理", "")
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
	// Storage in years, not days; what 敏感 means; each category's fields
	// (最少必要); whom to call.
	for _, want := range []string{"公积金", "2025-11-01", "最多 2 次", "贷款审批", "可留存 1 年", "敏感个人信息",
		"缴存单位", "缴存基数", "月缴存额", "收入额", "0531-96588", "不是我申请的"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the request card lacks %q: %s", want, shown)
		}
	}
	if strings.Contains(shown, "365 天") || strings.Contains(shown, "CREDIT_ASSESSMENT") {
		t.Errorf("the request card speaks in days or codes: %s", shown)
	}
	phone.audit("requests waiting")
	phone.docShot("03-pending")

	// Grant: the screen shows the very bytes it signs, the technical terms
	// folded under 技术详情.
	phone.run("open the decision", click(card+` button[data-action="GRANT"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="GRANT"]`, a.ID), chromedp.ByQuery))
	phone.screen("确认并签名", "")
	phone.run("read the decision", text("#decision-payload", &shown))
	for _, term := range []string{"序号", "通道", "签名密钥", "SHA-256", "CREDIT_ASSESSMENT", "BankMSP"} {
		if strings.Contains(shown, term) {
			t.Errorf("the decision shows %q outside 技术详情: %s", term, shown)
		}
	}
	phone.audit("decision")
	phone.docShot("04-decision")
	var payloadText string
	phone.run("read the payload", click("#decide-tech summary"), textContent("#payload-text", &payloadText))
	var p model.DecisionPayload
	if err := json.Unmarshal([]byte(payloadText), &p); err != nil || p.AuthorizationID != a.ID || p.Action != model.ActionGrant ||
		p.Requester != "BankMSP" || strings.Join(p.Categories, ",") != "housing_fund,tax" {
		t.Fatalf("decision screen shows %q (%v)", payloadText, err)
	}
	// What is signed covers what was shown: the licence, the retention and
	// the schema version of each category's field list.
	if p.Type != model.PayloadType || p.Licence == "" || !p.MayStore || p.DataLifeDays != 365 ||
		len(p.SchemaVersions) != 2 || p.SchemaVersions[0] < 1 || p.SchemaVersions[1] < 1 || p.Reason != "" {
		t.Errorf("signed terms %+v", p)
	}
	var fieldsShown string
	phone.run("read the fields signed for", text(`#decision-payload [data-field="fields"]`, &fieldsShown))
	if !strings.Contains(fieldsShown, "缴存基数") || !strings.Contains(fieldsShown, "已缴税额") {
		t.Errorf("the decision lists the fields %q", fieldsShown)
	}
	phone.audit("decision, technical details open")
	grantTx := phone.sign(a.ID, "GRANT", "GRANTED")
	phone.run("read the receipt", text("#receipt", &shown))
	for _, term := range []string{"签名密钥", "SHA-256", "序号", "通道"} {
		if strings.Contains(shown, term) {
			t.Errorf("the receipt shows %q outside 技术详情: %s", term, shown)
		}
	}
	phone.audit("decision receipt")
	phone.docShot("05-receipt-decision")
	var receiptPayload string
	phone.run("read the receipt's payload", click("#receipt-tech summary"), textContent("#receipt-payload", &receiptPayload))
	if !strings.Contains(receiptPayload, `"action":"GRANT"`) || grantTx == "" {
		t.Fatalf("receipt: tx %q payload %q", grantTx, receiptPayload)
	}
	phone.audit("decision receipt, technical details open")

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
	if got.LastDecision == nil || got.LastDecision.KeyID != kid1 || got.LastDecision.TxID != grantTx || !got.LastDecision.UserVerified {
		t.Fatalf("the ledger's decision %+v, want key %s tx %s, user verified", got.LastDecision, kid1, grantTx)
	}

	// The bank fetches; the use appears in the history, live.
	// The history also shows who looked the citizen up: the bank's lookup
	// for this authorisation, recorded by the operator's pseudonym service.
	phone.run("open the history", click(`#tabs a[data-tab="history"]`),
		chromedp.WaitVisible(`#view[data-screen="history"] h2`, chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`#view[data-screen="history"] [data-lookup=%q][data-requester="BankMSP"]`, a.ID), chromedp.ByQuery))
	var data dataResult
	code, raw := fetch(bank, a.ID, cats, "app-fetch-1")
	if code != 200 || json.Unmarshal(raw, &data) != nil || data.AccessID == "" {
		t.Fatalf("bank fetch: %d %s", code, raw)
	}
	use := fmt.Sprintf(`#view[data-screen="history"] [data-access-id=%q]`, data.AccessID)
	phone.run("see the use live", chromedp.WaitVisible(use, chromedp.ByQuery),
		chromedp.WaitVisible(`.toast[data-kind="used"]`, chromedp.ByQuery))
	phone.screen("使用记录", "")
	phone.audit("uses")
	phone.docShot("06-history")
	phone.run("open the use's receipt", click(use+" button[data-receipt]"),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-kind="use"][data-access-id=%q]`, data.AccessID), chromedp.ByQuery))
	if tx := phone.attr("#receipt", "data-tx"); tx != data.TxID {
		t.Fatalf("use receipt tx %q, want %q", tx, data.TxID)
	}
	// Names, not codes: the purpose, the provider, what was given.
	var purpose, provider, given string
	phone.run("read the use receipt", text(`#receipt [data-field="purpose"]`, &purpose),
		text(`#receipt [data-field="provider"]`, &provider), text(`#receipt [data-field="given"]`, &given), text("#receipt", &shown))
	if !strings.Contains(purpose, "贷款审批") || strings.Contains(provider, "MSP") || !strings.Contains(given, "条记录") {
		t.Errorf("use receipt: purpose %q, provider %q, given %q", purpose, provider, given)
	}
	for _, c := range []string{"CREDIT_ASSESSMENT", "BureauMSP", "BankMSP", "records"} {
		if strings.Contains(shown, c) {
			t.Errorf("the use receipt shows %q outside 技术详情: %s", c, shown)
		}
	}
	phone.screen("使用凭证", "")
	phone.audit("use receipt")
	phone.docShot("07-receipt-use")

	// Revoke from the active authorisations, told first what that does to
	// the data already delivered; the next fetch is refused.
	active := fmt.Sprintf(`#view[data-screen="active"] [data-auth-id=%q][data-status="GRANTED"]`, a.ID)
	phone.run("open active authorisations", click(`#tabs a[data-tab="active"]`),
		chromedp.WaitVisible(active, chromedp.ByQuery))
	phone.screen("有效授权", "")
	phone.audit("active authorisations")
	phone.docShot("08-active")
	var effect string
	phone.run("revoke", click(active+` button[data-action="REVOKE"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="REVOKE"]`, a.ID), chromedp.ByQuery),
		text("#revoke-effect", &effect))
	if !strings.Contains(effect, "不会被收回") || !strings.Contains(effect, "1 年") {
		t.Errorf("revoking does not say what happens to delivered data: %q", effect)
	}
	phone.audit("revoke decision")
	revokeTx := phone.sign(a.ID, "REVOKE", "REVOKED")
	code, raw = fetch(bank, a.ID, []string{"tax"}, "app-fetch-2")
	if code < 400 || code >= 500 || errorCode(raw) != string(model.CodeAuthRevoked) {
		t.Fatalf("fetch after revocation: %d %s", code, raw)
	}
	// The grant's receipt still opens after the revocation replaced it on
	// the ledger.
	phone.run("open the grant's receipt", chromedp.WaitVisible(fmt.Sprintf(`#decision-list a[data-tx=%q]`, revokeTx), chromedp.ByQuery),
		click(fmt.Sprintf(`#decision-list a[data-tx=%q]`, grantTx)),
		chromedp.WaitVisible(fmt.Sprintf(`#receipt[data-tx=%q][data-action="GRANT"]`, grantTx), chromedp.ByQuery),
		click("#receipt-tech summary"), textContent("#receipt-payload", &receiptPayload))
	if !strings.Contains(receiptPayload, `"action":"GRANT"`) || !strings.Contains(receiptPayload, a.ID) {
		t.Fatalf("the grant's receipt after revoking: %q", receiptPayload)
	}
	phone.audit("an earlier decision's receipt")

	// A decision on what is already decided is refused with a clear message.
	var banner string
	phone.run("decide again", chromedp.Evaluate(`location.hash = "#/decide/`+a.ID+`/GRANT"`, nil),
		chromedp.WaitVisible("#error", chromedp.ByQuery), text("#error", &banner))
	if !strings.Contains(banner, "已经处理") || strings.Contains(banner, "INVALID_TRANSITION") || strings.Contains(banner, "409") {
		t.Fatalf("error banner %q", banner)
	}
	var detail string
	phone.run("read the folded detail", textContent("#error", &detail))
	if !strings.Contains(detail, "INVALID_TRANSITION") {
		t.Errorf("the banner's folded detail lacks the code: %q", detail)
	}

	// Server errors are told in words, the code only in the folded detail;
	// after a successful 重试 the banner goes.
	for _, tc := range []struct {
		status     int
		code, want string
	}{
		{503, "LEDGER_UNAVAILABLE", "账本暂时连接不上"},
		{429, "RATE_LIMITED", "操作太频繁"},
		{0, "", "网络连接失败"},
		{418, "SOMETHING_NEW", "操作没有成功"},
	} {
		phone.open("#/pending", `#view[data-screen="pending"] .principles`)
		phone.failNext("/citizen/v1/safe", tc.status, tc.code)
		phone.run("load my data: "+tc.code, chromedp.Evaluate(`location.hash = "#/data"`, nil),
			chromedp.WaitVisible("#retry", chromedp.ByQuery), text("#error", &banner))
		if !strings.Contains(banner, tc.want) {
			t.Errorf("%d %s: banner %q, want %q", tc.status, tc.code, banner, tc.want)
		}
		if tc.code != "" {
			phone.noRawCodes("the banner", tc.code)
		}
		phone.run("retry: "+tc.code, click("#retry"),
			chromedp.WaitVisible(`#view[data-screen="data"] section[data-category]`, chromedp.ByQuery),
			chromedp.WaitNotVisible("#error", chromedp.ByQuery))
	}

	// The English switch keeps the domain terms' Chinese names; every screen
	// passes the audit in English too.
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
	phone.audit("English: requests waiting")
	for _, s := range []struct{ hash, ready, title string }{
		{"#/data", `#view[data-screen="data"] section[data-category]`, "My data"},
		{"#/active", `#view[data-screen="active"] h2`, "Active"},
		{"#/history", `#view[data-screen="history"] [data-access-id]`, "Uses"},
		{"#/receipt/use/" + data.AccessID, `#receipt[data-kind="use"]`, "Use receipt"},
		{"#/receipt/auth/" + a.ID, `#receipt[data-kind="decision"]`, "Decision receipt"},
		{"#/devices", `#device-list li[data-mine="yes"]`, "My devices"},
	} {
		phone.open(s.hash, s.ready)
		phone.screen(s.title, "")
		phone.audit("English: " + s.hash)
	}
	phone.open("#/decide/"+a.ID+"/GRANT", "#error")
	phone.noRawCodes("English: a refused decision", "INVALID_TRANSITION")
	phone.audit("English: a refused decision")
	phone.run("back to Chinese", click("#lang"), chromedp.WaitVisible(`html[lang="zh-CN"]`, chromedp.ByQuery))

	// 长辈模式: kept over a reload, larger text, one request at a time, one
	// action on an authorisation; a claim answered only yes/no.
	phone.open("#/data", `#view[data-screen="data"] section[data-category]`)
	phone.run("elder mode", click("#elder"), chromedp.WaitVisible(`html.elder #elder[aria-pressed="true"]`, chromedp.ByQuery),
		chromedp.Reload(), chromedp.WaitVisible(`html.elder #view[data-screen="data"] section[data-category]`, chromedp.ByQuery))
	var rootSize string
	phone.run("read the text size", chromedp.Evaluate(`getComputedStyle(document.documentElement).fontSize`, &rootSize))
	if rootSize != "20px" {
		t.Errorf("长辈模式 text size %s, want 20px", rootSize)
	}
	phone.audit("elder: my data")
	phone.docShot("21-elder-data")
	insurer := institution(t, insurerURL, "insurer")
	claim := request(t, insurer, person, "CLAIM_SETTLEMENT", []string{"death_registration"}, "2024-01-01", "2026-10-31", 3, "app-claim")
	loan := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "app-second")
	var cards int
	phone.open("#/pending", `#view[data-screen="pending"] #pending-more`)
	phone.run("count the requests shown", chromedp.Evaluate(`document.querySelectorAll('#view [data-auth-id]').length`, &cards))
	if cards != 1 {
		t.Errorf("长辈模式 shows %d requests at once, want 1", cards)
	}
	phone.audit("elder: requests waiting")
	phone.docShot("23-elder-pending")
	phone.open("#/decide/"+claim.ID+"/GRANT", fmt.Sprintf(`#decision-payload[data-auth-id=%q]`, claim.ID))
	phone.run("read the claim", text("#decision-payload", &shown))
	if !strings.Contains(shown, "5 年") || strings.Contains(shown, "1825") {
		t.Errorf("the claim's storage is not in years: %s", shown)
	}
	phone.audit("elder: decision")
	phone.docShot("24-elder-decision")
	phone.sign(claim.ID, "GRANT", "GRANTED")
	phone.audit("elder: decision receipt")
	phone.docShot("25-elder-receipt")
	var ans dataResult
	code, raw = insurer.call("POST", "/v1/data-requests", map[string]any{
		"authorization_id": claim.ID, "categories": []string{"death_registration"}, "mode": "predicate",
		"predicate": map[string]any{"code": "DECEASED_BEFORE", "params": map[string]string{"date": "2026-10-01"}},
	}, &ans, "Idempotency-Key", id("app-claim-predicate"))
	if code != 200 || ans.AccessID == "" {
		t.Fatalf("predicate: %d %s", code, raw)
	}
	phone.open("#/history", fmt.Sprintf(`#view[data-screen="history"] [data-access-id=%q]`, ans.AccessID))
	phone.run("read the yes/no use", text(fmt.Sprintf(`[data-access-id=%q]`, ans.AccessID), &shown))
	if !strings.Contains(shown, "只回答是或否：") || strings.Contains(shown, "DECEASED_BEFORE") {
		t.Errorf("a yes/no use reads %q", shown)
	}
	phone.audit("elder: uses")
	claimCard := fmt.Sprintf(`#view[data-screen="active"] [data-auth-id=%q][data-status="GRANTED"]`, claim.ID)
	phone.open("#/active", claimCard)
	var buttons []string
	phone.eval("the claim's actions", `[...document.querySelectorAll(`+jsString(claimCard+" button")+`)].map((b) => b.dataset.action || b.textContent)`, &buttons)
	if len(buttons) != 1 || buttons[0] != "REVOKE" {
		t.Errorf("长辈模式 offers %v on an authorisation, want one action (REVOKE)", buttons)
	}
	phone.audit("elder: active authorisations")
	phone.docShot("28-elder-active")
	phone.run("stop the claim", click(claimCard+` button[data-action="REVOKE"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="REVOKE"]`, claim.ID), chromedp.ByQuery))
	phone.sign(claim.ID, "REVOKE", "REVOKED")
	phone.open("#/decide/"+loan.ID+"/DENY", fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="DENY"]`, loan.ID))
	phone.sign(loan.ID, "DENY", "DENIED")
	phone.run("elder mode in English", click("#lang"), chromedp.WaitVisible(`html[lang="en"].elder`, chromedp.ByQuery))
	phone.audit("elder, English: decision receipt")
	phone.open("#/active", `#view[data-screen="active"] h2`)
	phone.audit("elder, English: active authorisations")
	phone.open("#/pending", `#view[data-screen="pending"] .principles`)
	phone.audit("elder, English: requests waiting")
	phone.run("back to Chinese", click("#lang"), chromedp.WaitVisible(`html[lang="zh-CN"]`, chromedp.ByQuery))
	phone.run("leave elder mode", click("#elder"), chromedp.WaitVisible(`#elder[aria-pressed="false"]`, chromedp.ByQuery))

	// 不是我申请的: a request the citizen did not make is denied with the
	// signed reason NOT_ME, which the ledger keeps.
	notMine := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "app-not-me")
	notMineCard := fmt.Sprintf(`#view[data-screen="pending"] [data-auth-id=%q]`, notMine.ID)
	phone.open("#/pending", notMineCard)
	phone.run("deny as not mine", click(notMineCard+` button[data-action="NOT_ME"]`),
		chromedp.WaitVisible(fmt.Sprintf(`#decision-payload[data-auth-id=%q][data-action="DENY"] [data-field="reason"]`, notMine.ID), chromedp.ByQuery))
	phone.run("read the denial", text("#decision-payload", &shown))
	if !strings.Contains(shown, "不是我申请的") || strings.Contains(shown, "NOT_ME") {
		t.Errorf("the denial as not mine reads %q", shown)
	}
	phone.audit("deny as not mine")
	phone.run("read the denial's payload", click("#decide-tech summary"), textContent("#payload-text", &payloadText))
	if !strings.Contains(payloadText, `"action":"DENY","reason":"NOT_ME"`) {
		t.Errorf("the denial signs %s", payloadText)
	}
	phone.sign(notMine.ID, "DENY", "DENIED")
	phone.run("read the denial's receipt", text("#receipt", &shown))
	if !strings.Contains(shown, "不是我申请的") {
		t.Errorf("the receipt of a denial as not mine reads %q", shown)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		bank.must("GET", "/v1/authorizations/"+notMine.ID, nil, &got, 200)
		if got.Status == model.AuthDenied || time.Now().After(deadline) {
			break
		}
	}
	if got.Status != model.AuthDenied || got.LastDecision == nil || got.LastDecision.Reason != model.ReasonNotMe {
		t.Fatalf("the bank sees %s, decision %+v", got.Status, got.LastDecision)
	}

	// A second device is added by the first one's approval, grants with its
	// own passkey, and revokes the first (lost) one. The first device is
	// told a device was added.
	tablet := newBrowser(t, "tablet", shots)
	kid2 := pairByApproval(tablet, phone)
	phone.open("#/pending", `#view[data-screen="pending"] .principles`)
	added := fmt.Sprintf(`.notice[data-device-added=%q]`, kid2)
	phone.run("told of the new device", chromedp.WaitVisible(added, chromedp.ByQuery), text(added, &shown))
	if !strings.Contains(shown, deviceName("tablet")) {
		t.Errorf("the new-device notice reads %q", shown)
	}
	phone.audit("a new device notice")
	t.Cleanup(func() {
		if keyStatus(t, api, kid2) == model.StatusActive {
			api.must("DELETE", "/citizen/v1/keys/"+kid2, nil, nil, 204)
		}
	})
	if kid2 == kid1 || keyStatus(t, api, kid2) != model.StatusActive {
		t.Fatalf("second device key %s (first %s): %q", kid2, kid1, keyStatus(t, api, kid2))
	}
	byTablet := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "app-tablet")
	tablet.open("#/decide/"+byTablet.ID+"/GRANT", fmt.Sprintf(`#decision-payload[data-auth-id=%q]`, byTablet.ID))
	tablet.sign(byTablet.ID, "GRANT", "GRANTED")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		bank.must("GET", "/v1/authorizations/"+byTablet.ID, nil, &got, 200)
		if got.Status == model.AuthGranted || time.Now().After(deadline) {
			break
		}
	}
	if got.Status != model.AuthGranted || got.LastDecision == nil || got.LastDecision.KeyID != kid2 || !got.LastDecision.UserVerified {
		t.Fatalf("the tablet's grant: %s, decision %+v, want key %s, user verified", got.Status, got.LastDecision, kid2)
	}
	tablet.open("#/devices", `#device-list li[data-mine="yes"]`)
	lost := fmt.Sprintf(`#device-list li[data-key-id=%q]`, kid1)
	tablet.run("revoke the first device's key",
		chromedp.WaitVisible(lost+`[data-status="ACTIVE"]`, chromedp.ByQuery),
		click(lost+" button[data-revoke]"),
		chromedp.WaitVisible(lost+` button[data-armed="yes"]`, chromedp.ByQuery),
		click(lost+" button[data-revoke]"),
		chromedp.WaitVisible(lost+`[data-status="REVOKED"]`, chromedp.ByQuery))
	tablet.audit("devices")
	tablet.docShot("10-devices")
	if st := keyStatus(t, api, kid1); st != model.StatusRevoked {
		t.Fatalf("revoked key %s is %q on the ledger", kid1, st)
	}
	if st := keyStatus(t, api, kid2); st != model.StatusActive {
		t.Fatalf("the second device's key %s is %q", kid2, st)
	}

	// The first device notices on its next start and asks for a new login;
	// it can still look, but a new key needs a new login at the identity
	// provider.
	phone.run("reload the first device", chromedp.Evaluate(`location.hash = "#/devices"`, nil), chromedp.Reload(),
		chromedp.WaitVisible(`#view[data-screen="relogin"] #relogin-button`, chromedp.ByQuery))
	phone.screen("请重新登录", "")
	phone.audit("a revoked device")
	phone.docShot("11-relogin")
	phone.open("#/devices", "#register-key")
	phone.run("log in again", click("#register-key"), chromedp.WaitVisible(`#login-form[data-enrolled="no"]`, chromedp.ByQuery))
	var stillShown []string
	phone.eval("what shows after logging out",
		`['#tabs', '#logout'].filter((s) => getComputedStyle(document.querySelector(s)).display !== 'none')`, &stillShown)
	if len(stillShown) != 0 {
		t.Errorf("logged out, %v still show", stillShown)
	}

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
		for _, file := range []string{name + ".png", name + "-375.png"} {
			b, err := os.ReadFile(filepath.Join(shots, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, file), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
