package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Citizen login over OpenID Connect without a browser: the helpers below do
// what the consent app and the citizen do, with a software passkey in place
// of the phone's authenticator. A test logs a citizen in with
//
//	dev := newSoftPasskey(t, "测试手机")
//	citizen, kid := oidcLogin(t, person, dev) // enrols dev on the first login
//
// and signs decisions with dev.assertPayload.
//
// The development identity provider (quanchain-devidp) shows a form for the
// ID number, name and phone, then one for a one-time code, which it writes
// to a file of its own (mode 0600) under the network's state directory, as
// the gateway's development login did. The helpers read the forms' field
// names (id_number, name, phone, code), not their layout.

// The WebAuthn relying party of the local network: browsers refuse an IP
// address as an rp id, so the app is opened at localhost.
const (
	appHost     = "localhost"
	appOrigin   = "http://localhost:7080"
	passkeyRPID = appHost
)

var b64u = base64.RawURLEncoding

// softPasskey is a passkey kept in memory: a P-256 key under a credential
// id, making the attestation a browser hands to POST …/credential and the
// assertions of decisions and approvals, always with user verification.
type softPasskey struct {
	name      string
	key       *ecdsa.PrivateKey
	credID    []byte
	signCount uint32

	deviceID, secret string // the gateway's pending device
	keyID            string // RFC 7638 thumbprint, the ledger's key id
}

func newSoftPasskey(t testing.TB, name string) *softPasskey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softPasskey{name: name, key: k, credID: id, signCount: 1}
}

// thumbprint is the public key's RFC 7638 thumbprint.
func (p *softPasskey) thumbprint() string {
	raw, _ := p.key.PublicKey.Bytes()
	canonical := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, b64u.EncodeToString(raw[1:33]), b64u.EncodeToString(raw[33:]))
	sum := sha256.Sum256([]byte(canonical))
	return b64u.EncodeToString(sum[:])
}

// cbor encodes the few CBOR values an attestation needs: unsigned and
// negative integers, byte and text strings, and maps in the given order.
type cborMap [][2]any

func cbor(v any) []byte {
	head := func(major byte, n uint64) []byte {
		switch {
		case n < 24:
			return []byte{major<<5 | byte(n)}
		case n < 1<<8:
			return []byte{major<<5 | 24, byte(n)}
		case n < 1<<16:
			return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
		default:
			return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
		}
	}
	switch v := v.(type) {
	case int:
		if v >= 0 {
			return head(0, uint64(v))
		}
		return head(1, uint64(-1-v))
	case []byte:
		return append(head(2, uint64(len(v))), v...)
	case string:
		return append(head(3, uint64(len(v))), v...)
	case cborMap:
		out := head(5, uint64(len(v)))
		for _, kv := range v {
			out = append(out, cbor(kv[0])...)
			out = append(out, cbor(kv[1])...)
		}
		return out
	}
	panic(fmt.Sprintf("cbor: %T", v))
}

// attest answers the gateway's creation options as an authenticator with
// "none" attestation: the credential JSON the consent app posts.
func (p *softPasskey) attest(t testing.TB, options json.RawMessage) map[string]any {
	t.Helper()
	var o struct {
		PublicKey *struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("creation options %s: %v", options, err)
	}
	challenge, rpID := o.Challenge, o.RP.ID
	if o.PublicKey != nil {
		challenge, rpID = o.PublicKey.Challenge, o.PublicKey.RP.ID
	}
	if rpID == "" {
		rpID = passkeyRPID
	}
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": challenge, "origin": appOrigin, "crossOrigin": false})
	raw, _ := p.key.PublicKey.Bytes()
	cose := cbor(cborMap{{1, 2}, {3, -7}, {-1, 1}, {-2, raw[1:33]}, {-3, raw[33:]}})
	rp := sha256.Sum256([]byte(rpID))
	ad := append(rp[:], 0x45, 0, 0, 0, 0) // UP, UV, attested credential data; counter 0
	ad = append(ad, make([]byte, 16)...)  // AAGUID
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(p.credID)))
	ad = append(append(ad, p.credID...), cose...)
	att := cbor(cborMap{{"fmt", "none"}, {"attStmt", cborMap{}}, {"authData", ad}})
	id := b64u.EncodeToString(p.credID)
	return map[string]any{"id": id, "rawId": id, "type": "public-key", "clientExtensionResults": map[string]any{},
		"authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64u.EncodeToString(cd), "attestationObject": b64u.EncodeToString(att),
			"transports": []string{"internal"}}}
}

// assertPayload is the passkey's assertion over payload: the challenge
// is its SHA-256, the user verified. It returns the signature members of
// a decision or an approval's signer.
func (p *softPasskey) assertPayload(t testing.TB, payload []byte) map[string]string {
	t.Helper()
	sum := sha256.Sum256(payload)
	rp := sha256.Sum256([]byte(passkeyRPID))
	ad := binary.BigEndian.AppendUint32(append(rp[:], 0x05), p.signCount) // UP, UV
	p.signCount++
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": b64u.EncodeToString(sum[:]), "origin": appOrigin, "crossOrigin": false})
	cdHash := sha256.Sum256(cd)
	signed := sha256.Sum256(append(append([]byte(nil), ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"key_id": p.keyID, "signature": b64u.EncodeToString(sig),
		"authenticator_data": b64u.EncodeToString(ad), "client_data_json": b64u.EncodeToString(cd)}
}

// register creates the passkey's device at the operator's gateway and hands
// in its credential (POST /citizen/v1/devices, …/credential): the device
// then waits for its proof, a login or an approval.
func (p *softPasskey) register(t testing.TB) {
	t.Helper()
	cl := &httpClient{t: t, base: operatorURL}
	var dev struct {
		DeviceID     string          `json:"device_id"`
		DeviceSecret string          `json:"device_secret"`
		Options      json.RawMessage `json:"options"`
	}
	cl.must("POST", "/citizen/v1/devices", map[string]string{"kind": "webauthn", "name": p.name}, &dev, 201)
	var out struct {
		KeyID        string `json:"key_id"`
		CredentialID string `json:"credential_id"`
	}
	cl.must("POST", "/citizen/v1/devices/"+dev.DeviceID+"/credential", map[string]any{"credential": p.attest(t, dev.Options)}, &out, 200,
		"X-Device-Secret", dev.DeviceSecret)
	if want := p.thumbprint(); out.KeyID != want {
		t.Fatalf("the gateway names the passkey %s, want its thumbprint %s", out.KeyID, want)
	}
	p.deviceID, p.secret, p.keyID = dev.DeviceID, dev.DeviceSecret, out.KeyID
}

// deviceStatus is the gateway's view of the pending device.
type deviceStatus struct {
	Status string `json:"status"`
	KeyID  string `json:"key_id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Ticket string `json:"ticket"`
}

func (p *softPasskey) status(t testing.TB) deviceStatus {
	t.Helper()
	var st deviceStatus
	(&httpClient{t: t, base: operatorURL}).must("GET", "/citizen/v1/devices/"+p.deviceID, nil, &st, 200, "X-Device-Secret", p.secret)
	return st
}

// oidcLogin logs c in at the development identity provider as a browser
// would (a cookie jar, following redirects, filling the provider's forms,
// the one-time code read from its code file) and exchanges the ticket for
// a citizen session. With dev not yet enrolled, the login enrols it first
// (its passkey is registered and named by the login's nonce); with dev
// nil or enrolled, it is a plain login. It returns the session and the key
// id the login enrolled ("" if none).
func oidcLogin(t testing.TB, c demoCitizen, dev *softPasskey) (*httpClient, string) {
	t.Helper()
	q := url.Values{"return_to": {"/app/"}}
	if dev != nil && dev.keyID == "" {
		dev.register(t)
		q.Set("device_id", dev.deviceID)
	}
	return loginAt(t, c, q)
}

// loginAt logs c in through /citizen/v1/oidc/start with query q and
// exchanges the ticket for a session; it returns the session and the key
// id the login enrolled ("" if none).
func loginAt(t testing.TB, c demoCitizen, q url.Values) (*httpClient, string) {
	t.Helper()
	ticket, page := providerLogin(t, c, appOrigin+"/citizen/v1/oidc/start?"+q.Encode(), true)
	if ticket == "" {
		t.Fatalf("login of %s at the identity provider: no ticket; the provider shows %q", c.Name, page)
	}
	cl := &httpClient{t: t, base: operatorURL}
	var s struct {
		Token string `json:"token"`
		KeyID string `json:"key_id"`
	}
	cl.must("POST", "/citizen/v1/session", map[string]string{"ticket": ticket}, &s, 200)
	cl.token = s.Token
	return cl, s.KeyID
}

// enrolWebCrypto enrols d, a plain WebCrypto key (no user verification;
// the development network's identity policy allows such keys), for c: it
// creates the pending device at the operator's gateway and logs c in with
// it, so that the login's ID token is the enrolment's proof. It sets d.kid
// and returns the session.
func enrolWebCrypto(t testing.TB, c demoCitizen, d *device, name string) *httpClient {
	t.Helper()
	var dev struct {
		DeviceID string `json:"device_id"`
		KeyID    string `json:"key_id"`
	}
	(&httpClient{t: t, base: operatorURL}).must("POST", "/citizen/v1/devices",
		map[string]any{"kind": "webcrypto", "jwk": json.RawMessage(d.jwk), "name": name}, &dev, 201)
	cl, kid := loginAt(t, c, url.Values{"return_to": {"/app/"}, "device_id": {dev.DeviceID}})
	if kid == "" || kid != dev.KeyID {
		t.Fatalf("the login enrolled key %q, want the device's %q", kid, dev.KeyID)
	}
	d.kid = kid
	return cl
}

// providerLogin walks from start through the identity provider's forms
// back to the app. It returns the ticket of the app's fragment (or "")
// and the text of the last page the provider showed. Without wantCode
// it stops, without a ticket, where the provider would ask for a code; it
// also stops where the provider shows its identity form again (a refusal).
func providerLogin(t testing.TB, c demoCitizen, start string, wantCode bool) (ticket, page string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var back string
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == strings.TrimPrefix(appOrigin, "http://") && strings.HasPrefix(req.URL.Path, "/app/") {
			back = req.URL.String()
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return fmt.Errorf("more than 10 redirects")
		}
		return nil
	}}
	resp, err := hc.Get(start)
	since := time.Now().Add(-time.Second)
	values := map[string]string{"id_number": c.IDNumber, "name": c.Name, "phone": c.Phone}
	for step := 0; step < 6; step++ {
		if err != nil {
			t.Fatalf("identity provider: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if back != "" || (resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "/app/")) {
			if back == "" {
				back = resp.Header.Get("Location")
			}
			u, _ := url.Parse(back)
			frag, _ := url.ParseQuery(u.Fragment)
			if e := frag.Get("login_error"); e != "" {
				t.Fatalf("the gateway sent the login back with login_error=%s", e)
			}
			return frag.Get("ticket"), page
		}
		page = pageText(body)
		action, fields, ok := htmlForm(body)
		if _, again := fields["id_number"]; ok && again && step > 0 {
			return "", page // the provider refused who we said we are
		}
		if resp.StatusCode >= 400 {
			t.Fatalf("identity provider: %s %d: %s", resp.Request.URL, resp.StatusCode, body)
		}
		if !ok {
			return "", page
		}
		if _, asks := fields["code"]; asks {
			if !wantCode {
				return "", page
			}
			values["code"] = waitDevIDPCode(t, c.Phone, fields["challenge_id"], since)
		}
		form := url.Values{}
		for k, v := range fields {
			if mine, ok := values[k]; ok {
				v = mine
			}
			form.Set(k, v)
		}
		target, _ := resp.Request.URL.Parse(action)
		resp, err = hc.PostForm(target.String(), form)
	}
	t.Fatalf("identity provider: no way back to the app after 6 pages; last %q", page)
	return "", ""
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	tagRe   = regexp.MustCompile(`(?s)<[^>]*>`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3])
	}
	return out
}

// htmlForm finds the first POST form of a page: its action and its named
// fields with their values (a submit button's name and value included).
func htmlForm(body []byte) (action string, fields map[string]string, ok bool) {
	for _, m := range formRe.FindAllStringSubmatch(string(body), -1) {
		fa := attrs(m[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		fields = map[string]string{}
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			if a["name"] != "" {
				fields[a["name"]] = a["value"]
			}
		}
		return fa["action"], fields, true
	}
	return "", nil, false
}

func pageText(body []byte) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(string(body), " "))), " ")
}

// devIDPCodeDirs are where the development identity provider may write its
// codes: $QC_DEVIDP_CODES, else under the network's state directory.
func devIDPCodeDirs() []string {
	if d := os.Getenv("QC_DEVIDP_CODES"); d != "" {
		return []string{d}
	}
	s := testNet.StateDir()
	return []string{filepath.Join(s, "devidp", "dev-login-codes"), filepath.Join(s, "devidp", "codes"),
		filepath.Join(s, "devidp", "login-codes")}
}

// devIDPCode returns the newest one-time code the provider wrote since
// since, for challenge (when the form named one) or else for phone; ""
// when there is none. Each code file is JSON of challenge_id, phone, code
// and expires_at, mode 0600.
func devIDPCode(t testing.TB, phone, challenge string, since time.Time) string {
	t.Helper()
	type found struct {
		at   time.Time
		code string
	}
	var all []found
	for _, dir := range devIDPCodeDirs() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || info.ModTime().Before(since) {
				continue
			}
			if challenge != "" && e.Name() != challenge {
				continue
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("the identity provider's code file %s has mode %v, want 0600", e.Name(), info.Mode().Perm())
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			var c struct {
				Phone string `json:"phone"`
				Code  string `json:"code"`
			}
			if json.Unmarshal(bytes.TrimSpace(b), &c) != nil || c.Code == "" {
				continue
			}
			if challenge == "" && normalisePhone(c.Phone) != normalisePhone(phone) {
				continue
			}
			all = append(all, found{info.ModTime(), c.Code})
		}
	}
	if len(all) == 0 {
		return ""
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.After(all[j].at) })
	return all[0].code
}

func waitDevIDPCode(t testing.TB, phone, challenge string, since time.Time) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code := devIDPCode(t, phone, challenge, since); code != "" {
			return code
		}
	}
	t.Fatalf("no one-time code from the identity provider in %v", devIDPCodeDirs())
	return ""
}

func normalisePhone(s string) string {
	s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	s = strings.TrimPrefix(s, "+")
	if len(s) == 13 && strings.HasPrefix(s, "86") {
		s = s[2:]
	}
	return s
}

// approveDevice approves the pending device dev from the citizen's session
// with the enrolled passkey approver (GET and POST …/approval), as the
// consent app's devices screen does, and returns the new device's session
// from the ticket it then sees.
func approveDevice(t testing.TB, citizen *httpClient, approver, dev *softPasskey) *httpClient {
	t.Helper()
	var ap struct {
		KeyID     string `json:"key_id"`
		Name      string `json:"name"`
		Payload   string `json:"payload"`
		Challenge string `json:"challenge"`
	}
	citizen.must("GET", "/citizen/v1/devices/"+dev.deviceID+"/approval", nil, &ap, 200)
	payload, err := b64u.DecodeString(strings.TrimRight(ap.Payload, "="))
	if err != nil || ap.KeyID != dev.keyID || ap.Name != dev.name {
		t.Fatalf("approval of %s: %+v (%v)", dev.keyID, ap, err)
	}
	sum := sha256.Sum256(payload)
	if strings.TrimRight(ap.Challenge, "=") != b64u.EncodeToString(sum[:]) {
		t.Fatalf("approval challenge %q is not the payload's SHA-256", ap.Challenge)
	}
	citizen.must("POST", "/citizen/v1/devices/"+dev.deviceID+"/approval",
		map[string]any{"payload": ap.Payload, "signer": approver.assertPayload(t, payload)}, nil, 200)
	st := dev.status(t)
	if st.Status != "enrolled" || st.Ticket == "" {
		t.Fatalf("the approved device sees %+v", st)
	}
	cl := &httpClient{t: t, base: operatorURL}
	var s struct {
		Token string `json:"token"`
	}
	cl.must("POST", "/citizen/v1/session", map[string]string{"ticket": st.Ticket}, &s, 200)
	cl.token = s.Token
	return cl
}

// TestCitizenIdentity is the citizen identity contract over HTTP, without a
// browser: a login at the identity provider enrols a software passkey, a
// second login reuses it, a second passkey is added by the first one's
// approval, and a grant signed with it is user verified on the ledger.
func TestCitizenIdentity(t *testing.T) {
	person := demoCitizens(t)[11]
	first := newSoftPasskey(t, "测试身份-1")
	citizen, kid := oidcLogin(t, person, first)
	if kid != first.keyID || keyStatus(t, citizen, kid) != "ACTIVE" {
		t.Fatalf("the login enrolled %q (passkey %s): %q", kid, first.keyID, keyStatus(t, citizen, kid))
	}
	t.Cleanup(func() { citizen.call("DELETE", "/citizen/v1/keys/"+kid, nil, nil) })
	if _, again := oidcLogin(t, person, first); again != "" {
		t.Errorf("a second login on an enrolled device enrolled %q", again)
	}

	second := newSoftPasskey(t, "测试身份-2")
	second.register(t)
	if st := second.status(t); st.Status != "pending" || st.Ticket != "" {
		t.Fatalf("a new device before its approval: %+v", st)
	}
	other := approveDevice(t, citizen, first, second)
	t.Cleanup(func() { citizen.call("DELETE", "/citizen/v1/keys/"+second.keyID, nil, nil) })
	var keys struct {
		Keys []struct {
			KeyID      string `json:"key_id"`
			Kind       string `json:"kind"`
			Proof      string `json:"proof"`
			ApprovedBy string `json:"approved_by"`
			Status     string `json:"status"`
		} `json:"keys"`
	}
	other.must("GET", "/citizen/v1/keys", nil, &keys, 200)
	found := false
	for _, k := range keys.Keys {
		if k.KeyID == second.keyID {
			found = true
			if k.Kind != "webauthn" || k.Proof != "device" || k.ApprovedBy != first.keyID || k.Status != "ACTIVE" {
				t.Errorf("the approved key reads %+v", k)
			}
		}
	}
	if !found {
		t.Fatalf("the approved key %s is not among the citizen's keys", second.keyID)
	}

	bank := institution(t, bankURL, "bank")
	a := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "identity")
	var p struct {
		Payload   string `json:"payload"`
		Challenge string `json:"challenge"`
	}
	other.must("POST", "/citizen/v1/authorizations/"+a.ID+"/payload", map[string]string{"action": "GRANT"}, &p, 200)
	payload, err := base64.StdEncoding.DecodeString(p.Payload)
	if err != nil {
		payload, err = b64u.DecodeString(strings.TrimRight(p.Payload, "="))
	}
	if err != nil {
		t.Fatalf("payload %q: %v", p.Payload, err)
	}
	body := map[string]any{"payload": p.Payload}
	for k, v := range second.assertPayload(t, payload) {
		body[k] = v
	}
	var out struct {
		LastDecision struct {
			KeyID        string `json:"key_id"`
			UserVerified bool   `json:"user_verified"`
		} `json:"last_decision"`
	}
	other.must("POST", "/citizen/v1/authorizations/"+a.ID+"/decision", body, &out, 200, "Idempotency-Key", id("identity-grant"))
	if out.LastDecision.KeyID != second.keyID || !out.LastDecision.UserVerified {
		t.Errorf("the passkey's grant: %+v", out.LastDecision)
	}
}
