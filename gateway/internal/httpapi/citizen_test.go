package httpapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// seedAuthorization has the bank ask the citizen of ID number idNumber
// for authorisation id, through the chaincode, under the citizen's ref and
// subject digest as the bank's gateway names them, and returns it,
// pending.
func (h *citizenHarness) seedAuthorization(id, idNumber string) *model.Authorization {
	h.t.Helper()
	ref := h.refOf(idNumber)
	a, err := h.net.Ledger("BankMSP").RequestAuthorization(context.Background(), model.AuthorizationRequest{
		ID: id, CitizenRef: ref, Purpose: "CREDIT_ASSESSMENT", Categories: []string{"housing_fund", "tax"},
		DataFrom: "2025-11-01", DataTo: "2026-10-31", ValidUntil: "2026-11-30T00:00:00Z", MaxUses: 2,
		ReferenceHash: sha256Hex("LOAN-2026-0001"), Subject: model.SubjectDigest("BankMSP", ref, idNumber)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.net.ClearCalls()
	return a
}

// decisions returns the payloads of the decisions submitted since the
// harness was set up, decoded: the bytes the ledger received.
func (h *citizenHarness) decisions() [][]byte {
	h.t.Helper()
	var out [][]byte
	for _, c := range h.net.Calls() {
		if c.Submit && c.Name == "consent:Decide" {
			var in model.DecisionInput
			if err := json.Unmarshal(c.Transient[model.TransientDecision], &in); err != nil {
				h.t.Fatal(err)
			}
			p, err := base64.StdEncoding.DecodeString(in.Payload)
			if err != nil {
				h.t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// recordAccess has the operator record a delivery under a granted
// authorisation, as its provider does.
func (h *citizenHarness) recordAccess(id, authID string) *model.Access {
	h.t.Helper()
	acc, err := h.net.Ledger("BureauMSP").RecordAccess(context.Background(), model.AccessRequest{ID: id, AuthorizationID: authID,
		Requester: "BankMSP", Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: sha256Hex("delivery " + id), RecordCount: 2})
	if err != nil {
		h.t.Fatal(err)
	}
	return acc
}

// TestCitizenFlow: login → enrol a device key → list the request → get the
// payload → sign it with the device key → decide; the ledger receives the
// exact bytes that were signed. Then pause with the other encodings, the
// uses of the data, the digital safe, and a lost device.
func TestCitizenFlow(t *testing.T) {
	h := newCitizenHarness(t)
	ctx := t.Context()
	ref := h.refOf(applicant)
	otherID := withCheck("11010519491231003")
	h.seedAuthorization("auth-loan-1", applicant)
	h.seedAuthorization("auth-else", otherID)
	operator := h.net.Ledger("BureauMSP")
	bank, _ := operator.GetInstitution(ctx, "BankMSP")
	purpose, _ := operator.GetPurpose(ctx, "CREDIT_ASSESSMENT")
	housingFund, _ := operator.GetCategory(ctx, "housing_fund")

	// Log in with a new device: it is enrolled with the login's ID token.
	dev, tok := h.enrol(applicant, "")
	p, err := h.tokens.Verify(tok, auth.KindCitizen)
	if err != nil || p.Subject != ref {
		t.Fatalf("citizen token: %v %+v", err, p)
	}
	w := h.as(tok, "GET", "/citizen/v1/keys", "")
	keys := decodeBody[keyList](t, w)
	if w.Code != 200 || len(keys.Keys) != 1 || keys.Keys[0].KeyID != dev.kid || keys.Keys[0].Status != model.StatusActive {
		t.Fatalf("keys: %d %s", w.Code, w.Body)
	}

	// The request, with who asks, why and for what.
	w = h.as(tok, "GET", "/citizen/v1/authorizations?status=PENDING", "")
	list := decodeBody[citizenAuthorizationList](t, w)
	if w.Code != 200 || len(list.Items) != 1 || list.Items[0].ID != "auth-loan-1" {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	it := list.Items[0]
	// As the registry has them (the demo network's).
	if it.RequesterInfo.Name != bank.Name || it.RequesterInfo.Licence != bank.Licence ||
		it.PurposeInfo.NameZH != purpose.NameZH || it.PurposeInfo.NameEN != purpose.NameEN || !it.PurposeInfo.MayStore ||
		it.PurposeInfo.DataLifeDays != purpose.DataLifeDays || len(it.CategoryInfo) != 2 || it.CategoryInfo[0].NameZH != housingFund.NameZH {
		t.Errorf("enrichment: %s", w.Body)
	}
	// Who to call, and each field every category delivers (最少必要).
	if it.RequesterInfo.Contact != bank.Contact || bank.Contact == "" {
		t.Errorf("contact %q, want %q", it.RequesterInfo.Contact, bank.Contact)
	}
	if ci := it.CategoryInfo[0]; ci.SchemaVersion != housingFund.SchemaVersion || len(ci.Fields) != len(housingFund.Fields) ||
		len(ci.Fields) == 0 || ci.Fields[1] != housingFund.Fields[1] {
		t.Errorf("category fields: %+v", ci)
	}

	// The payload: the exact canonical bytes, and the same as text.
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/payload", `{"action":"GRANT"}`)
	pr := decodeBody[payloadResponse](t, w)
	if w.Code != 200 || pr.Action != model.ActionGrant || pr.AuthorizationID != "auth-loan-1" {
		t.Fatalf("payload: %d %s", w.Code, w.Body)
	}
	payload, err := base64.StdEncoding.DecodeString(pr.Payload)
	if err != nil || pr.PayloadJSON != string(payload) {
		t.Fatalf("payload encoding: %v %q", err, pr.PayloadJSON)
	}
	a, _ := operator.GetAuthorization(ctx, "auth-loan-1")
	terms, err := ledgertest.Terms(ctx, operator, a)
	if err != nil {
		t.Fatal(err)
	}
	if want := model.NewDecisionPayload(citizenTestChannel, a, terms, model.ActionGrant, now).Bytes(); !bytes.Equal(payload, want) {
		t.Fatalf("payload bytes\n got %s\nwant %s", payload, want)
	}
	// The payload names what the app showed: the licence, the retention and
	// the schema version of each category, as registered.
	for _, part := range []string{`"licence":"` + bank.Licence + `"`, `"may_store":true`,
		fmt.Sprintf(`"data_life_days":%d`, purpose.DataLifeDays), `"schema_versions":[1,1]`} {
		if !strings.Contains(string(payload), part) {
			t.Errorf("payload lacks %s: %s", part, payload)
		}
	}

	// Sign on the device (raw r‖s) and decide; replay the request.
	signature := base64.StdEncoding.EncodeToString(dev.signRaw(t, payload))
	body := `{"payload":"` + pr.Payload + `","signature":"` + signature + `","key_id":"` + dev.kid + `"}`
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body, "Idempotency-Key", "grant-1")
	if w.Code != 200 || decodeBody[model.Authorization](t, w).Status != model.AuthGranted {
		t.Fatalf("decision: %d %s", w.Code, w.Body)
	}
	again := h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body, "Idempotency-Key", "grant-1")
	if again.Code != 200 || again.Body.String() != w.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Code, again.Body)
	}
	got := h.decisions()
	if len(got) != 1 || !bytes.Equal(got[0], payload) {
		t.Fatalf("ledger received %q, want the signed bytes once", got)
	}
	if a, _ := operator.GetAuthorization(ctx, "auth-loan-1"); a.LastDecision == nil || a.LastDecision.Payload != pr.Payload {
		t.Fatalf("the ledger keeps %+v, not the signed bytes", a.LastDecision)
	}
	// A delivery under the grant, and one of another citizen's data.
	mine := h.recordAccess("acc-1", "auth-loan-1")
	grant(t, h.net, h.refOf(otherID), otherID, "auth-else")
	h.recordAccess("acc-2", "auth-else")
	h.net.ClearCalls()

	// Pause, sending the payload in the URL alphabet unpadded and an ASN.1
	// DER signature: the ledger still gets the bytes exactly as signed.
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/payload", `{"action":"PAUSE"}`)
	pr = decodeBody[payloadResponse](t, w)
	payload, _ = base64.StdEncoding.DecodeString(pr.Payload)
	sum := sha256.Sum256(payload)
	der, err := ecdsa.SignASN1(rand.Reader, dev.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	body = `{"payload":"` + base64.RawURLEncoding.EncodeToString(payload) + `","signature":"` +
		base64.StdEncoding.EncodeToString(der) + `","key_id":"` + dev.kid + `"}`
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body)
	if w.Code != 200 || decodeBody[model.Authorization](t, w).Status != model.AuthPaused {
		t.Fatalf("pause: %d %s", w.Code, w.Body)
	}
	if got := h.decisions(); len(got) != 1 || !bytes.Equal(got[0], payload) {
		t.Fatalf("ledger received %q", got)
	}
	// The same payload again is stale: the chaincode's code comes through.
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body)
	if w.Code != http.StatusConflict || errCode(t, w) != string(model.CodePayloadMismatch) {
		t.Fatalf("stale payload: %d %s", w.Code, w.Body)
	}

	// Every use of my data, and only of mine.
	w = h.as(tok, "GET", "/citizen/v1/accesses", "")
	acc := decodeBody[citizenAccessList](t, w)
	if w.Code != 200 || len(acc.Items) != 1 || acc.Items[0].TxID != mine.TxID || acc.Items[0].RequesterInfo.Name != bank.Name {
		t.Fatalf("accesses: %d %s", w.Code, w.Body)
	}

	// My digital safe, from the real store.
	seedSafe(t, h.st, ref)
	w = h.as(tok, "GET", "/citizen/v1/safe", "")
	safe := decodeBody[safeView](t, w)
	if w.Code != 200 || len(safe.Categories) != 1 {
		t.Fatalf("safe: %d %s", w.Code, w.Body)
	}
	sc := safe.Categories[0]
	if sc.Code != "housing_fund" || sc.NameZH != "住房公积金" || sc.Count != 3 || sc.Unbatched != 1 || len(sc.Batches) != 1 ||
		!sc.Batches[0].Anchored || sc.Batches[0].AnchorTxID != "tx-anchor-1" || sc.Batches[0].Records != 2 ||
		sc.FirstDate != "2026-01-31" || sc.LastDate != "2026-03-31" {
		t.Errorf("safe: %s", w.Body)
	}

	// A lost device: revoke its key; it signs nothing more.
	w = h.as(tok, "DELETE", "/citizen/v1/keys/"+dev.kid, "")
	if w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	w = h.as(tok, "GET", "/citizen/v1/keys", "")
	if keys := decodeBody[keyList](t, w); len(keys.Keys) != 1 || keys.Keys[0].Status != model.StatusRevoked {
		t.Fatalf("keys after revoke: %s", w.Body)
	}
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/payload", `{"action":"RESUME"}`)
	pr = decodeBody[payloadResponse](t, w)
	payload, _ = base64.StdEncoding.DecodeString(pr.Payload)
	body = `{"payload":"` + pr.Payload + `","signature":"` + base64.StdEncoding.EncodeToString(dev.signRaw(t, payload)) +
		`","key_id":"` + dev.kid + `"}`
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body)
	if w.Code != http.StatusConflict || errCode(t, w) != string(model.CodeKeyRevoked) {
		t.Fatalf("revoked key: %d %s", w.Code, w.Body)
	}
	// Signed by a key that is not the one named: SIGNATURE_INVALID.
	stranger, _ := h.enrol(applicant, "")
	body = `{"payload":"` + pr.Payload + `","signature":"` + base64.StdEncoding.EncodeToString(dev.signRaw(t, payload)) +
		`","key_id":"` + stranger.kid + `"}`
	w = h.as(tok, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", body)
	if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != string(model.CodeSignatureInvalid) {
		t.Fatalf("wrong key: %d %s", w.Code, w.Body)
	}
	if strings.Contains(h.logs.String(), applicant) {
		t.Error("the ID number reached the log")
	}
}

// seedSafe stores three housing-fund records for ref, two of them in a
// batch anchored by tx-anchor-1.
func seedSafe(t *testing.T, st *store.Store, ref string) {
	t.Helper()
	var recs []store.Record
	var hashes []string
	var leaves []merkle.Hash
	for i, d := range []string{"2026-01-31", "2026-02-28", "2026-03-31"} {
		body := []byte(`{"month":"` + d + `","n":` + string(rune('0'+i)) + `}`)
		sum := sha256.Sum256(body)
		recs = append(recs, store.Record{CitizenRef: ref, Category: "housing_fund", RecordDate: d, Body: body, Hash: hex.EncodeToString(sum[:])})
		if i < 2 {
			hashes = append(hashes, hex.EncodeToString(sum[:]))
			leaves = append(leaves, merkle.LeafHash(sum[:]))
		}
	}
	if _, err := st.InsertRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	root := merkle.NewFromLeafHashes(leaves).Root().String()
	if _, err := st.CreateBatch(t.Context(), store.Batch{ID: "batch-1", Category: "housing_fund", Root: root, LeafCount: 2}, hashes); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkBatchAnchored(t.Context(), "batch-1", "tx-anchor-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestCitizenRegistryCache: the list looks each institution up once.
func TestCitizenRegistryCache(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	for _, id := range []string{"auth-a1", "auth-a2", "auth-a3"} {
		h.seedAuthorization(id, applicant)
	}
	tok := h.citizenToken(ref)
	for range 2 {
		if w := h.as(tok, "GET", "/citizen/v1/authorizations", ""); w.Code != 200 || len(decodeBody[citizenAuthorizationList](t, w).Items) != 3 {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
	}
	n := 0
	for _, c := range h.net.Calls() {
		if c.Name == "registry:GetInstitution" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("GetInstitution called %d times, want 1", n)
	}
}
