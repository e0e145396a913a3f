package consentapp

import (
	"context"
	"encoding/json"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPresentRoute: the app routes #/present/… to the present screen,
// keeps the presentation over the login, comes back to it after a
// decision, and loads present.js before app.js.
func TestPresentRoute(t *testing.T) {
	app := string(files["app.js"].body)
	for _, want := range []string{"case 'present':", "presentFromHash(hash)", "keepPresent(presenting)", "presentReturnTo()"} {
		if !strings.Contains(app, want) {
			t.Errorf("app.js lacks %q", want)
		}
	}
	if !strings.Contains(string(files["screens.js"].body), "location.hash = afterDecision(id);") {
		t.Error("screens.js does not return to the presentation after a decision")
	}
	html := string(files["index.html"].body)
	p, a := strings.Index(html, `<script src="present.js" defer>`), strings.Index(html, `<script src="app.js" defer>`)
	if p < 0 || a < 0 || p > a {
		t.Error("index.html does not load present.js before app.js")
	}
}

// TestPresentReturnLink runs present.js's own functions under Node: the
// way back carries the state, the authorisation and the outcome on the
// vouched return URL, keeps the URL's own query, and is refused for a URL
// the app may not send a citizen to.
func TestPresentReturnLink(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script := string(files["present.js"].body) + `
const out = {};
const view = {return_url: 'https://app.bank.example/loan/back?step=3', state: 's 1&2=x', authorization_id: 'auth-1', requester_name: 'Bank'};
for (const o of ['GRANTED', 'DENIED', 'CANCELLED']) out[o] = returnLink(view, o);
out.script = returnLink(Object.assign({}, view, {return_url: 'javascript:alert(1)'}), 'DENIED');
out.plain = returnLink(Object.assign({}, view, {return_url: 'http://app.bank.example/back'}), 'DENIED');
out.loopback = returnLink(Object.assign({}, view, {return_url: 'http://127.0.0.1:9000/cb'}), 'DENIED');
out.fragment = returnLink(Object.assign({}, view, {return_url: 'https://app.bank.example/back#x'}), 'DENIED');
out.outcomes = ['GRANTED', 'DENIED', 'WITHDRAWN', 'EXPIRED', 'PENDING'].map(outcomeOf);
out.hash = presentFromHash('#/present/auth-1?r=p1.abc_-.def');
out.badHash = presentFromHash('#/present/auth-1');
// A ticket that expires after this tab resolved it keeps its view; another
// expired ticket does not.
const kept = new Map();
globalThis.sessionStorage = {getItem: (k) => kept.has(k) ? kept.get(k) : null,
  setItem: (k, v) => kept.set(k, String(v)), removeItem: (k) => kept.delete(k)};
class APIError extends Error { constructor(status, code, msg) { super(msg); this.status = status; this.code = code; } }
let answer;
async function api() { if (answer instanceof Error) throw answer; return answer; }
(async () => {
  const p = {id: 'auth-1', ticket: 'p1.t'};
  answer = view;
  await resolvePresent(p);
  answer = new APIError(410, 'TICKET_EXPIRED', 'expired');
  out.afterExpiry = (await resolvePresent(p)).return_url;
  try { await resolvePresent({id: 'auth-1', ticket: 'p1.other'}); out.otherExpired = 'resolved'; } catch (e) { out.otherExpired = e.code; }
  answer = Object.assign({}, view, {authorization_id: 'auth-2'});
  try { await resolvePresent({id: 'auth-1', ticket: 'p1.t2'}); out.otherRequest = 'resolved'; } catch (e) { out.otherRequest = e.code; }
  console.log(JSON.stringify(out));
})();
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-")
	cmd.Stdin = strings.NewReader(script)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	const view0 = "https://app.bank.example/loan/back?step=3"
	var out struct {
		GRANTED, DENIED, CANCELLED        string
		Script, Plain, Loopback, Fragment string
		Outcomes                          []string
		Hash                              *struct{ ID, Ticket string }
		BadHash                           any
		AfterExpiry, OtherExpired         string
		OtherRequest                      string
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for outcome, link := range map[string]string{"GRANTED": out.GRANTED, "DENIED": out.DENIED, "CANCELLED": out.CANCELLED} {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		q := u.Query()
		if u.Scheme != "https" || u.Host != "app.bank.example" || u.Path != "/loan/back" || q.Get("step") != "3" ||
			q.Get("state") != "s 1&2=x" || q.Get("authorization_id") != "auth-1" || q.Get("outcome") != outcome {
			t.Errorf("return link for %s: %s", outcome, link)
		}
	}
	if out.Script != "" || out.Plain != "" || out.Fragment != "" {
		t.Errorf("refused URLs gave links: %q %q %q", out.Script, out.Plain, out.Fragment)
	}
	if !strings.HasPrefix(out.Loopback, "http://127.0.0.1:9000/cb?") {
		t.Errorf("loopback: %q", out.Loopback)
	}
	if strings.Join(out.Outcomes, ",") != "GRANTED,DENIED,CANCELLED,CANCELLED,CANCELLED" {
		t.Errorf("outcomes %v", out.Outcomes)
	}
	if out.AfterExpiry != view0 || out.OtherExpired != "TICKET_EXPIRED" || out.OtherRequest != "INVALID_TICKET" {
		t.Errorf("resolvePresent: after expiry %q, another expired ticket %q, a ticket of another request %q", out.AfterExpiry, out.OtherExpired, out.OtherRequest)
	}
	if out.Hash == nil || out.Hash.ID != "auth-1" || out.Hash.Ticket != "p1.abc_-.def" || out.BadHash != nil {
		t.Errorf("presentFromHash: %+v %v", out.Hash, out.BadHash)
	}
}
