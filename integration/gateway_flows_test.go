package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// These tests drive the gateways over HTTP only, on the network make up
// runs. Each uses its own demo citizen so that they do not interfere.

// consent is a logged-in citizen with a registered device key.
type consent struct {
	t      *testing.T
	client *httpClient
	phone  *device
	tag    string
}

// loginNet is this run's block of loopback source addresses: the citizen
// login is rate-limited per remote address (5 a minute), so each test logs
// in from an address of its own, as separate phones would.
// maxActiveKeys is the chaincode's bound on a citizen's active device keys.
const maxActiveKeys = 8

// citizenWithDevice logs citizen in and registers a fresh ES256 device key.
func citizenWithDevice(t *testing.T, c demoCitizen, tag string) *consent {
	t.Helper()
	cl := citizenLogin(t, c)
	// A citizen holds at most 8 active device keys: retire the oldest
	// left by earlier runs so there is room for this one.
	var keys struct {
		Keys []model.DeviceKey `json:"keys"`
	}
	cl.must("GET", "/citizen/v1/keys", nil, &keys, 200)
	var active []string
	for _, k := range keys.Keys {
		if k.Status == model.StatusActive {
			active = append(active, k.KeyID)
		}
	}
	for i := 0; i+maxActiveKeys <= len(active); i++ {
		cl.must("DELETE", "/citizen/v1/keys/"+active[i], nil, nil, 204)
	}
	phone := newDevice(t)
	cl = enrolWebCrypto(t, c, phone, tag)
	key := struct{ KeyID string }{phone.kid}
	t.Cleanup(func() {
		code, raw := cl.call("DELETE", "/citizen/v1/keys/"+key.KeyID, nil, nil)
		if code == http.StatusUnauthorized { // the session ended: log in again
			citizenLogin(t, c).must("DELETE", "/citizen/v1/keys/"+key.KeyID, nil, nil, 204)
			return
		}
		if code != 204 {
			t.Errorf("DELETE /citizen/v1/keys/%s: %d %s", key.KeyID, code, raw)
		}
	})
	return &consent{t: t, client: cl, phone: phone, tag: tag}
}

// decide signs action on authID on the device and submits it; step makes
// the idempotency key unique within the test.
func (c *consent) decide(authID string, action model.Action, step string) {
	c.t.Helper()
	var p struct {
		Payload string `json:"payload"`
	}
	// The request was committed on the requester's peer; the operator's
	// peer may commit the block a moment later.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, raw := c.client.call("POST", "/citizen/v1/authorizations/"+authID+"/payload", map[string]string{"action": string(action)}, &p)
		if code == 200 {
			break
		}
		if code != http.StatusNotFound || errorCode(raw) != string(model.CodeAuthNotFound) || time.Now().After(deadline) {
			c.t.Fatalf("payload of %s %s: %d %s", action, authID, code, raw)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(p.Payload)
	if err != nil {
		c.t.Fatal(err)
	}
	c.client.must("POST", "/citizen/v1/authorizations/"+authID+"/decision",
		map[string]string{"payload": p.Payload, "signature": c.phone.sign(c.t, raw), "key_id": c.phone.kid}, nil, 200,
		"Idempotency-Key", id(c.tag+"-decide-"+step))
}

// accessesOf counts the citizen's recorded uses under authID, over every
// page of their history (earlier runs on the same ledger leave theirs).
func (c *consent) accessesOf(authID string) int {
	c.t.Helper()
	n, cursor := 0, ""
	for page := 0; page < 100; page++ {
		var uses struct {
			Items      []model.Access `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		c.client.must("GET", "/citizen/v1/accesses?limit=100&cursor="+url.QueryEscape(cursor), nil, &uses, 200)
		for _, a := range uses.Items {
			if a.AuthorizationID == authID {
				n++
			}
		}
		if uses.NextCursor == "" || len(uses.Items) == 0 {
			break
		}
		cursor = uses.NextCursor
	}
	return n
}

// request creates a PENDING authorisation at inst for citizen.
func request(t *testing.T, inst *httpClient, citizen demoCitizen, purpose string, cats []string, from, to string, maxUses int, tag string) model.Authorization {
	t.Helper()
	var a model.Authorization
	inst.must("POST", "/v1/authorizations", map[string]any{
		"citizen_id": citizen.IDNumber, "purpose": purpose, "categories": cats,
		"data_from": from, "data_to": to,
		"valid_until": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), "max_uses": maxUses,
		"reference": strings.ToUpper(tag) + "-" + runID,
	}, &a, 201, "Idempotency-Key", id(tag+"-request"))
	if a.Status != model.AuthPending || a.ID == "" {
		t.Fatalf("created %+v", a)
	}
	return a
}

// dataResult is the answer of POST /v1/data-requests.
type dataResult struct {
	AccessID  string `json:"access_id"`
	TxID      string `json:"tx_id"`
	Mode      string `json:"mode"`
	UseNumber int    `json:"use_number"`
	Verified  bool   `json:"verified"`
	Records   []struct {
		Category   string          `json:"category"`
		RecordHash string          `json:"record_hash"`
		Record     json.RawMessage `json:"record"`
		Proof      struct {
			BatchID   string   `json:"batch_id"`
			Salt      string   `json:"salt"`
			LeafIndex uint64   `json:"leaf_index"`
			Path      []string `json:"path"`
		} `json:"proof"`
	} `json:"records"`
	Answer *bool `json:"answer"`
}

// lendingGrant is a granted CREDIT_ASSESSMENT authorisation of the bank.
func lendingGrant(t *testing.T, person demoCitizen, maxUses int, tag string) (*httpClient, *consent, model.Authorization) {
	t.Helper()
	citizen := citizenWithDevice(t, person, tag)
	bank := institution(t, bankURL, "bank")
	a := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"housing_fund", "tax"}, "2025-11-01", "2026-10-31", maxUses, tag)
	citizen.decide(a.ID, model.ActionGrant, "grant")
	return bank, citizen, a
}

func fetch(inst *httpClient, authID string, cats []string, key string) (int, []byte) {
	inst.t.Helper()
	return inst.call("POST", "/v1/data-requests", map[string]any{"authorization_id": authID, "categories": cats},
		nil, "Idempotency-Key", id(key))
}

// TestWebhookDeliveryHTTP: the bank's webhook receives the grant of a new
// authorisation, signed with the secret shown when it was created.
func TestWebhookDeliveryHTTP(t *testing.T) {
	type delivery struct {
		body    []byte
		header  http.Header
		receive time.Time
	}
	got := make(chan delivery, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- delivery{body: b, header: r.Header.Clone(), receive: time.Now()}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	bank := institution(t, bankURL, "bank")
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	bank.must("POST", "/v1/webhooks", map[string]string{"url": srv.URL + "/hook"}, &hook, 201, "Idempotency-Key", id("wh-create"))
	if hook.ID == "" || hook.Secret == "" {
		t.Fatalf("webhook created without id or secret: %+v", hook)
	}
	defer bank.must("DELETE", "/v1/webhooks/"+hook.ID, nil, nil, 204)

	people := demoCitizens(t)
	person := people[1]
	citizen := citizenWithDevice(t, person, "wh")
	a := request(t, bank, person, "CREDIT_ASSESSMENT", []string{"tax"}, "2025-11-01", "2026-10-31", 1, "wh")
	citizen.decide(a.ID, model.ActionGrant, "grant")

	deadline := time.After(30 * time.Second)
	for {
		select {
		case d := <-got:
			var ev model.Event
			if err := json.Unmarshal(d.body, &ev); err != nil {
				t.Fatalf("webhook body %s: %v", d.body, err)
			}
			if ev.Name != model.EventAuthorizationGranted || ev.AuthorizationID != a.ID {
				continue // another test's or an earlier event
			}
			checkSignature(t, hook.Secret, d.header.Get("Quanchain-Signature"), d.body, d.receive)
			if d.header.Get("Quanchain-Event-Id") == "" || ev.TxID == "" || ev.Requester != "BankMSP" {
				t.Fatalf("delivery headers %v, event %+v", d.header, ev)
			}
			if bytes.Contains(d.body, []byte(person.IDNumber)) || bytes.Contains(d.body, []byte(person.Name)) {
				t.Fatalf("webhook body carries personal data: %s", d.body)
			}
			return
		case <-deadline:
			t.Fatalf("no AuthorizationGranted delivery for %s within 30 s", a.ID)
		}
	}
}

// checkSignature verifies Quanchain-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func checkSignature(t *testing.T, secret, header string, body []byte, now time.Time) {
	t.Helper()
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			t.Fatalf("malformed signature header %q", header)
		case k == "t":
			ts = v
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		t.Fatalf("signature header %q has no t or v1", header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		t.Fatalf("signature timestamp %s is %s from now", ts, d)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return
		}
	}
	t.Fatalf("no v1 signature in %q matches HMAC-SHA256 of the body", header)
}

// TestClaimsFlowHTTP: the insurer asks for medical settlements and a death
// registration for a claim, the citizen grants, the insurer gets verified
// records and a minimal answer that carries no record.
func TestClaimsFlowHTTP(t *testing.T) {
	people := demoCitizens(t)
	person := people[2]
	citizen := citizenWithDevice(t, person, "claim")
	insurer := institutionClient(t, insurerURL, "insurer")
	ctx := context.Background()
	// CLAIM_SETTLEMENT: medical_settlement, death_registration allowed;
	// at most 3 uses, a data range of at most 1095 days.
	a, err := insurer.CreateAuthorization(ctx, client.AuthorizationRequest{
		CitizenID: person.IDNumber, Purpose: "CLAIM_SETTLEMENT", Categories: []string{"medical_settlement", "death_registration"},
		DataFrom: "2024-01-01", DataTo: "2026-10-31",
		ValidUntil: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 3,
		Reference: "CLAIM-" + runID,
	}, id("claim-request"))
	if err != nil || a.Status != model.AuthPending || a.ID == "" {
		t.Fatalf("created %+v: %v", a, err)
	}
	citizen.decide(a.ID, model.ActionGrant, "grant")
	awaitGrant(t, insurer, a.ID)

	recs, err := insurer.RequestData(ctx, client.DataRequest{AuthorizationID: a.ID, Categories: []string{"medical_settlement"}}, id("claim-records"))
	if err != nil {
		t.Fatal(err)
	}
	if !recs.Verified || recs.TxID == "" || recs.Mode != model.ModeRecords || len(recs.Records) == 0 {
		t.Fatalf("medical settlements: verified=%v tx=%q mode=%q records=%d", recs.Verified, recs.TxID, recs.Mode, len(recs.Records))
	}
	for _, r := range recs.Records {
		if r.Category != "medical_settlement" {
			t.Fatalf("a record of category %s under a medical_settlement request", r.Category)
		}
	}

	_, ans, err := insurer.RequestPredicate(ctx, a.ID, "death_registration",
		client.Predicate{Code: "DECEASED_BEFORE", Params: map[string]string{"date": "2026-10-01"}}, id("claim-predicate"))
	if err != nil {
		t.Fatalf("predicate: %v", err)
	}
	if !ans.Verified || ans.Mode != model.ModePredicate || ans.Answer == nil || len(ans.Records) != 0 {
		t.Fatalf("predicate answer: %+v", ans)
	}
	// The predicate's delivery is salted like any other: it proves the
	// answer against the access's digest.
	if ans.Verify("") != nil {
		t.Fatalf("predicate delivery of %s does not hash to its digest %s", ans.AccessID, ans.Digest)
	}
	if n := citizen.accessesOf(a.ID); n != 2 {
		t.Fatalf("the citizen sees %d uses of %s, want 2", n, a.ID)
	}
}

// TestPauseResumeHTTP: a paused authorisation refuses fetches with
// AUTH_PAUSED; once resumed it serves again.
func TestPauseResumeHTTP(t *testing.T) {
	people := demoCitizens(t)
	bank, citizen, a := lendingGrant(t, people[3], 3, "pause")

	citizen.decide(a.ID, model.ActionPause, "pause")
	code, raw := fetch(bank, a.ID, []string{"tax"}, "pause-fetch-paused")
	if code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthPaused) {
		t.Fatalf("fetch while paused: %d %s", code, raw)
	}
	var got model.Authorization
	bank.must("GET", "/v1/authorizations/"+a.ID, nil, &got, 200)
	if got.Status != model.AuthPaused || got.Uses != 0 {
		t.Fatalf("paused authorisation: status %s uses %d", got.Status, got.Uses)
	}

	citizen.decide(a.ID, model.ActionResume, "resume")
	code, raw = fetch(bank, a.ID, []string{"tax"}, "pause-fetch-resumed")
	if code != 200 {
		t.Fatalf("fetch after resume: %d %s", code, raw)
	}
	var d dataResult
	_ = json.Unmarshal(raw, &d)
	if !d.Verified || d.UseNumber != 1 {
		t.Fatalf("fetch after resume: %s", raw)
	}
}

// TestExhaustionHTTP: with max_uses 1 the second fetch is refused with
// AUTH_EXHAUSTED.
func TestExhaustionHTTP(t *testing.T) {
	people := demoCitizens(t)
	bank, _, a := lendingGrant(t, people[4], 1, "exhaust")
	if code, raw := fetch(bank, a.ID, []string{"housing_fund"}, "exhaust-1"); code != 200 {
		t.Fatalf("first fetch: %d %s", code, raw)
	}
	code, raw := fetch(bank, a.ID, []string{"housing_fund"}, "exhaust-2")
	if code != http.StatusConflict || errorCode(raw) != string(model.CodeAuthExhausted) {
		t.Fatalf("second fetch: %d %s", code, raw)
	}
}

// TestIdempotentDataRequestHTTP: a data request replayed under the same
// Idempotency-Key returns the first answer and records one access.
func TestIdempotentDataRequestHTTP(t *testing.T) {
	people := demoCitizens(t)
	bank, citizen, a := lendingGrant(t, people[5], 3, "idem")

	body := map[string]any{"authorization_id": a.ID, "categories": []string{"housing_fund", "tax"}}
	var first, second dataResult
	bank.must("POST", "/v1/data-requests", body, &first, 200, "Idempotency-Key", id("idem-fetch"))
	bank.must("POST", "/v1/data-requests", body, &second, 200, "Idempotency-Key", id("idem-fetch"))
	if first.AccessID == "" || second.AccessID != first.AccessID || second.TxID != first.TxID {
		t.Fatalf("replay: first %s/%s, second %s/%s", first.AccessID, first.TxID, second.AccessID, second.TxID)
	}
	// The same key with another body is refused, not served.
	code, raw := bank.call("POST", "/v1/data-requests", map[string]any{"authorization_id": a.ID, "categories": []string{"tax"}},
		nil, "Idempotency-Key", id("idem-fetch"))
	if code != http.StatusUnprocessableEntity || errorCode(raw) != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("key reused with another body: %d %s", code, raw)
	}

	var got model.Authorization
	bank.must("GET", "/v1/authorizations/"+a.ID, nil, &got, 200)
	if got.Uses != 1 {
		t.Fatalf("authorisation %s has %d uses after a replay, want 1", a.ID, got.Uses)
	}
	if n := citizen.accessesOf(a.ID); n != 1 {
		t.Fatalf("the citizen sees %d accesses under %s, want 1", n, a.ID)
	}
}

// TestRecordVerificationHTTP: a record the bank received verifies as
// anchored; the same record with one field changed does not.
func TestRecordVerificationHTTP(t *testing.T) {
	people := demoCitizens(t)
	bank, _, a := lendingGrant(t, people[6], 1, "verify")
	var d dataResult
	bank.must("POST", "/v1/data-requests", map[string]any{"authorization_id": a.ID, "categories": []string{"tax"}},
		&d, 200, "Idempotency-Key", id("verify-fetch"))
	if len(d.Records) == 0 {
		t.Fatal("no tax record delivered")
	}
	rec := d.Records[0]

	type verification struct {
		RecordHash string `json:"record_hash"`
		Valid      bool   `json:"valid"`
		Anchored   bool   `json:"anchored"`
		Revoked    bool   `json:"revoked"`
		Batch      any    `json:"batch"`
		Proof      any    `json:"proof"`
	}
	// The bank's gateway holds no safe: the record goes with the batch
	// proof that came with it.
	check := func(record json.RawMessage) map[string]any {
		return map[string]any{"category": rec.Category, "record": record,
			"batch_id": rec.Proof.BatchID, "leaf_index": rec.Proof.LeafIndex, "proof": rec.Proof.Path, "salt": rec.Proof.Salt}
	}
	var ok verification
	_, raw := bank.call("POST", "/v1/verifications", check(rec.Record), &ok)
	if !ok.Valid || !ok.Anchored || ok.Revoked || ok.RecordHash != rec.RecordHash || ok.Batch == nil || ok.Proof == nil {
		t.Fatalf("genuine record: %s (delivered hash %s)", raw, rec.RecordHash)
	}

	tampered := tamper(t, rec.Record)
	var bad verification
	code, raw := bank.call("POST", "/v1/verifications", check(tampered), &bad)
	if code == 200 {
		if bad.Valid || bad.RecordHash == rec.RecordHash {
			t.Fatalf("tampered record verified: %s", raw)
		}
	} else if code < 400 || code >= 500 {
		t.Fatalf("tampered record: %d %s", code, raw)
	}
}

// tamper changes one value of a record's JSON object, keeping the others
// byte for byte.
func tamper(t *testing.T, rec json.RawMessage) json.RawMessage {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(rec, &fields); err != nil {
		t.Fatalf("record %s: %v", rec, err)
	}
	for k, v := range fields {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && dec.Decode(&n) == nil {
			old := []byte(`"` + k + `":` + string(v))
			changed := "9" + string(v) // a valid, different number
			if v[0] == '0' || v[0] == '-' {
				changed = "42"
				if string(v) == changed {
					changed = "43"
				}
			}
			if bytes.Count(rec, old) == 1 {
				return bytes.Replace(rec, old, []byte(`"`+k+`":`+changed), 1)
			}
		}
	}
	t.Fatalf("no numeric field to tamper with in %s", rec)
	return nil
}

// rawCall sends body exactly as given.
func rawCall(t *testing.T, base, token, method, path string, body []byte, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// countAuthorizations counts every authorisation a client sees (an
// institution's or a citizen's).
func countAuthorizations(t *testing.T, inst *httpClient, path string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		p := path + "?limit=100"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		inst.must("GET", p, nil, &page, 200)
		n += len(page.Items)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return n
		}
		cursor = page.NextCursor
	}
}

// TestBadInputHTTP: malformed or unauthorised requests get a 4xx with a
// stable code and create nothing.
func TestBadInputHTTP(t *testing.T) {
	people := demoCitizens(t)
	person := people[7]
	bank := institution(t, bankURL, "bank")
	// Nothing may be created: the citizen named in the requests sees no
	// new authorisation (the bank's own list is shared with other users of
	// the network, so it is not a reliable count).
	citizen := citizenLogin(t, person)
	before := countAuthorizations(t, citizen, "/citizen/v1/authorizations")

	valid := func() map[string]any {
		return map[string]any{
			"citizen_id": person.IDNumber, "purpose": "CREDIT_ASSESSMENT", "categories": []string{"tax"},
			"data_from": "2025-11-01", "data_to": "2026-10-31",
			"valid_until": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), "max_uses": 1,
			"reference": "BAD-" + runID,
		}
	}
	with := func(k string, v any) []byte {
		m := valid()
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	b64 := base64.RawURLEncoding.EncodeToString
	noneToken := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		b64([]byte(`{"sub":"bank-app","iss":"quanchain","aud":"quanchain","exp":`+strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)+`}`)) + "."
	parts := strings.Split(bank.token, ".")
	forged := parts[0] + "." + parts[1] + "." + b64(bytes.Repeat([]byte{7}, 64))
	// The ID number with a wrong GB 11643 check digit.
	badID := person.IDNumber[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", person.IDNumber[17])+1)%11])
	good, _ := json.Marshal(valid())

	cases := []struct {
		name   string
		token  string
		body   []byte
		status int
		code   string
	}{
		{"malformed JSON", bank.token, []byte(`{"citizen_id": "x",`), 400, "MALFORMED_JSON"},
		{"unknown field", bank.token, with("colour", "blue"), 400, "MALFORMED_JSON"},
		{"wrong type", bank.token, with("max_uses", "1"), 400, "MALFORMED_JSON"},
		{"oversized body", bank.token, with("reference", strings.Repeat("x", 2<<20)), 413, "BODY_TOO_LARGE"},
		{"missing token", "", good, 401, "MISSING_TOKEN"},
		{"alg none token", noneToken, good, 401, "INVALID_TOKEN"},
		{"wrongly signed token", forged, good, 401, "INVALID_TOKEN"},
		{"invalid ID number", bank.token, with("citizen_id", badID), 400, "INVALID_ID_NUMBER"},
		{"unknown category", bank.token, with("categories", []string{"horoscope"}), 422, "CATEGORY_NOT_FOUND"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, raw := rawCall(t, bankURL, c.token, "POST", "/v1/authorizations", c.body,
				"Idempotency-Key", id("bad-"+strconv.Itoa(i)))
			if code != c.status || errorCode(raw) != c.code {
				t.Fatalf("status %d %s, want %d %s", code, raw, c.status, c.code)
			}
		})
	}

	// The same mistakes on the data-request endpoint.
	for i, c := range []struct {
		name, body, code string
		status           int
	}{
		{"malformed JSON", `{"authorization_id":`, "MALFORMED_JSON", 400},
		{"unknown field", `{"authorization_id":"auth-x","categories":["tax"],"all":true}`, "MALFORMED_JSON", 400},
		{"wrong type", `{"authorization_id":7,"categories":["tax"]}`, "MALFORMED_JSON", 400},
		{"unknown mode", `{"authorization_id":"auth-x","categories":["tax"],"mode":"everything"}`, "INVALID_ARGUMENT", 400},
	} {
		t.Run("data-request "+c.name, func(t *testing.T) {
			code, raw := rawCall(t, bankURL, bank.token, "POST", "/v1/data-requests", []byte(c.body),
				"Idempotency-Key", id("bad-dr-"+strconv.Itoa(i)))
			if code != c.status || errorCode(raw) != c.code {
				t.Fatalf("status %d %s, want %d %s", code, raw, c.status, c.code)
			}
		})
	}

	if after := countAuthorizations(t, citizen, "/citizen/v1/authorizations"); after != before {
		t.Fatalf("the citizen's authorisations went from %d to %d", before, after)
	}
}
