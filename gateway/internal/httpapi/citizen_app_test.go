package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// TestCitizenSafeRecords: 我的数据 lists the caller's own records with
// their values and proof information, never another citizen's.
func TestCitizenSafeRecords(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	other := h.refOf(withCheck("11010519491231003"))
	seedSafe(t, h.st, ref)
	body := []byte(`{"month":"2026-01","income_fen":900000}`)
	sum := sha256.Sum256(body)
	if _, err := h.st.InsertRecords(t.Context(), []store.Record{{CitizenRef: other, Category: "tax", RecordDate: "2026-01-31",
		Body: body, Hash: hex.EncodeToString(sum[:])}}); err != nil {
		t.Fatal(err)
	}
	tok := h.citizenToken(ref)

	w := h.as(tok, "GET", "/citizen/v1/safe/records", "")
	list := decodeBody[safeRecordList](t, w)
	if w.Code != 200 || len(list.Items) != 3 || list.NextCursor != "" {
		t.Fatalf("records: %d %s", w.Code, w.Body)
	}
	anchored := 0
	for i, r := range list.Items {
		if r.Category != "housing_fund" || !strings.Contains(string(r.Values), `"month"`) || len(r.RecordHash) != 64 {
			t.Errorf("record %d: %+v", i, r)
		}
		var v map[string]any
		if err := json.Unmarshal(r.Values, &v); err != nil {
			t.Errorf("record %d values are not an object: %s", i, r.Values)
		}
		if got := sha256.Sum256(r.Values); hex.EncodeToString(got[:]) != r.RecordHash {
			t.Errorf("record %d: values are not the bytes hashed", i)
		}
		if r.Proof != nil {
			anchored++
			if r.Proof.BatchID != "batch-1" || !r.Proof.Anchored || r.Proof.AnchorTxID != "tx-anchor-1" || len(r.Proof.Root) != 64 ||
				r.Proof.LeafCount != 2 || r.Proof.LeafIndex != i || r.Proof.AnchoredAt == "" {
				t.Errorf("record %d proof: %+v", i, r.Proof)
			}
		}
	}
	if anchored != 2 {
		t.Errorf("%d records with a proof, want 2: %s", anchored, w.Body)
	}
	if strings.Contains(w.Body.String(), "income_fen") {
		t.Fatal("another citizen's record was listed")
	}

	// The other citizen sees theirs, and only theirs.
	w = h.as(h.citizenToken(other), "GET", "/citizen/v1/safe/records", "")
	if l := decodeBody[safeRecordList](t, w); w.Code != 200 || len(l.Items) != 1 || l.Items[0].Category != "tax" || l.Items[0].Proof != nil {
		t.Fatalf("other's records: %d %s", w.Code, w.Body)
	}

	// Pages and a category filter.
	w = h.as(tok, "GET", "/citizen/v1/safe/records?limit=2", "")
	page := decodeBody[safeRecordList](t, w)
	if w.Code != 200 || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1: %d %s", w.Code, w.Body)
	}
	w = h.as(tok, "GET", "/citizen/v1/safe/records?limit=2&cursor="+page.NextCursor, "")
	if p2 := decodeBody[safeRecordList](t, w); w.Code != 200 || len(p2.Items) != 1 || p2.Items[0].RecordDate != "2026-03-31" {
		t.Fatalf("page 2: %d %s", w.Code, w.Body)
	}
	w = h.as(tok, "GET", "/citizen/v1/safe/records?category=tax", "")
	if l := decodeBody[safeRecordList](t, w); w.Code != 200 || len(l.Items) != 0 {
		t.Fatalf("tax: %d %s", w.Code, w.Body)
	}
	for _, q := range []string{"?category=Tax", "?category=tax&category=housing_fund", "?owner=" + other, "?limit=0", "?cursor=bad"} {
		if w := h.as(tok, "GET", "/citizen/v1/safe/records"+q, ""); w.Code != http.StatusBadRequest || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w := h.as(h.token, "GET", "/citizen/v1/safe/records", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("institution token: %d", w.Code)
	}
}

// TestCitizenDeviceNames: a key is enrolled with the device's name, the
// device list shows it, and the citizen's live stream — their other
// devices — is told of the new device; no other citizen's stream is.
func TestCitizenDeviceNames(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	other := h.refOf(withCheck("11010519491231003"))
	mine, _, _ := h.events.SubscribeKey(ref, "")
	defer h.events.Unsubscribe(mine)
	theirs, _, _ := h.events.SubscribeKey(other, "")
	defer h.events.Unsubscribe(theirs)
	phone, tok := h.enrol(applicant, "iPhone")
	select {
	case e := <-mine.Events():
		var d deviceAddedEvent
		if err := json.Unmarshal(e.Data, &d); err != nil || e.Name != EventDeviceAdded || d.Name != EventDeviceAdded ||
			d.KeyID != phone.kid || d.DeviceName != "iPhone" || d.At == "" || e.ID != "device-"+phone.kid {
			t.Fatalf("event %+v %s", e, e.Data)
		}
		if strings.Contains(string(e.Data), ref) {
			t.Error("the event carries the citizenRef")
		}
	case <-time.After(time.Second):
		t.Fatal("no DeviceAdded event")
	}
	select {
	case e := <-theirs.Events():
		t.Fatalf("another citizen's stream got %+v", e)
	default:
	}

	// A name the chaincode would refuse is refused before the ledger.
	h.net.ClearCalls()
	for _, name := range []string{`iPad\nroot`, strings.Repeat("x", model.MaxDeviceNameLen+1), `   `} {
		w := h.as("", "POST", "/citizen/v1/devices", `{"kind":"webcrypto","jwk":`+newDeviceKey(t).jwk+`,"name":"`+name+`"}`)
		if w.Code != http.StatusBadRequest || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("name %q: %d %s", name, w.Code, w.Body)
		}
	}
	if calls := h.net.Calls(); len(calls) != 0 {
		t.Errorf("refused names reached the ledger: %d calls", len(calls))
	}

	// A second device without a name; the list shows both as named.
	h.enrol(applicant, "")
	w := h.as(tok, "GET", "/citizen/v1/keys", "")
	keys := decodeBody[keyList](t, w)
	if len(keys.Keys) != 2 || keys.Keys[0].Name != "iPhone" || keys.Keys[1].Name != "" {
		t.Fatalf("keys: %s", w.Body)
	}
	// The name is kept in every requester's collection.
	for _, req := range []string{"BankMSP", "InsurerMSP"} {
		cz, err := h.net.Ledger("AuditMSP").GetCitizen(t.Context(), req, ref)
		if err != nil || cz.Keys[0].Name != "iPhone" {
			t.Errorf("%s: %+v %v", req, cz, err)
		}
	}
}

// TestCitizenDenyNotMe: 不是我申请的 — the citizen denies a request with the
// reason NOT_ME; the reason is signed and kept in the decision, and the
// gateway logs a warning naming the authorisation and the requester and
// nothing personal.
func TestCitizenDenyNotMe(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	h.seedAuthorization("auth-loan-1", applicant)
	h.seedAuthorization("auth-loan-2", applicant)
	dev, tok := h.enrol(applicant, "")
	for _, body := range []string{`{"action":"GRANT","reason":"NOT_ME"}`, `{"action":"DENY","reason":"SPAM"}`, `{"action":"DENY","reason":""}`} {
		w := h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/payload", body)
		if body == `{"action":"DENY","reason":""}` {
			if w.Code != 200 || strings.Contains(w.Body.String(), "reason") {
				t.Errorf("empty reason: %d %s", w.Code, w.Body)
			}
			continue
		}
		if w.Code != http.StatusBadRequest || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	decide := func(id, reason string) *model.Authorization {
		t.Helper()
		req := `{"action":"DENY"}`
		if reason != "" {
			req = `{"action":"DENY","reason":"` + reason + `"}`
		}
		w := h.as(tok, "POST", "/citizen/v1/authorizations/"+id+"/payload", req)
		pr := decodeBody[payloadResponse](t, w)
		if w.Code != 200 {
			t.Fatalf("payload: %d %s", w.Code, w.Body)
		}
		if want := `"action":"DENY","reason":"NOT_ME"`; (reason != "") != strings.Contains(pr.PayloadJSON, want) {
			t.Fatalf("payload %s", pr.PayloadJSON)
		}
		payload, _ := base64.StdEncoding.DecodeString(pr.Payload)
		body := `{"payload":"` + pr.Payload + `","signature":"` + base64.StdEncoding.EncodeToString(dev.signRaw(t, payload)) +
			`","key_id":"` + dev.kid + `"}`
		w = h.as(tok, "POST", "/citizen/v1/authorizations/"+id+"/decision", body)
		if w.Code != 200 {
			t.Fatalf("decision: %d %s", w.Code, w.Body)
		}
		a, err := h.net.Ledger("BankMSP").GetAuthorization(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := decide("auth-loan-2", ""); a.Status != model.AuthDenied || a.LastDecision.Reason != "" {
		t.Fatalf("plain denial: %+v", a.LastDecision)
	}
	if strings.Contains(h.logs.String(), "not theirs") {
		t.Fatal("a plain denial was logged as not the citizen's")
	}
	a := decide("auth-loan-1", model.ReasonNotMe)
	if a.Status != model.AuthDenied || a.LastDecision == nil || a.LastDecision.Reason != model.ReasonNotMe {
		t.Fatalf("denied as not me: %+v", a.LastDecision)
	}
	var warning map[string]any
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "citizen denied a request as not theirs") {
			_ = json.Unmarshal([]byte(line), &warning)
		}
	}
	if warning["level"] != "WARN" || warning["authorization_id"] != "auth-loan-1" || warning["requester"] != "BankMSP" ||
		warning["reason"] != model.ReasonNotMe || warning["tx_id"] != a.LastTxID {
		t.Fatalf("warning %v in %s", warning, h.logs.String())
	}
	if l := h.logs.String(); strings.Contains(l, ref) || strings.Contains(l, applicant) || strings.Contains(l, h.idp.lastIDToken()) {
		t.Error("personal data reached the log")
	}
}
