package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// dataResult is the decoded answer of POST /v1/data-requests.
type dataResult struct {
	AccessID   string                   `json:"access_id"`
	TxID       string                   `json:"tx_id"`
	Mode       string                   `json:"mode"`
	Categories []string                 `json:"categories"`
	Digest     string                   `json:"digest"`
	UseNumber  int                      `json:"use_number"`
	Records    []recordOut              `json:"records"`
	Predicate  *exchange.PredicateQuery `json:"predicate"`
	Answer     *bool                    `json:"answer"`
	Verified   bool                     `json:"verified"`
}

type recordOut struct {
	Category   string          `json:"category"`
	RecordDate string          `json:"record_date"`
	RecordHash string          `json:"record_hash"`
	Proof      vault.Proof     `json:"proof"`
	Record     json.RawMessage `json:"record"`
}

func recordsRequest(auth string, cats ...string) string {
	b, _ := json.Marshal(map[string]any{"authorization_id": auth, "categories": cats})
	return string(b)
}

func predicateRequest(auth, cat, code string, params map[string]string) string {
	b, _ := json.Marshal(map[string]any{"authorization_id": auth, "categories": []string{cat}, "mode": "predicate",
		"predicate": map[string]any{"code": code, "params": params}})
	return string(b)
}

func TestDataRequestEndToEnd(t *testing.T) {
	x := newXnet(t)
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax, synth.HousingFund))
	if w.Code != 200 {
		t.Fatalf("data request: %d %s", w.Code, w.Body)
	}
	res := decodeBody[dataResult](t, w)
	if !res.Verified || res.Mode != "records" || res.UseNumber != 1 || !slices.Equal(res.Categories, []string{"housing_fund", "tax"}) {
		t.Fatalf("result %+v", res)
	}
	// Twelve months in range (2025-11 … 2026-10) and two tax records; the
	// two months before the range stay at the provider.
	if len(res.Records) != 14 {
		t.Fatalf("%d records, want 14", len(res.Records))
	}
	for i, r := range res.Records {
		body, ok := x.imported[r.RecordHash]
		if !ok || !bytes.Equal(body, r.Record) {
			t.Fatalf("record %d is not the imported record, byte for byte", i)
		}
		if r.RecordDate < "2025-11-01" || r.RecordDate > "2026-10-31" {
			t.Fatalf("record %d outside the authorised range: %s", i, r.RecordDate)
		}
		// The bank can check the proof itself against the anchored root.
		sum := sha256.Sum256(r.Record)
		b, err := x.bank.ledger.GetBatch(context.Background(), r.Proof.BatchID)
		if err != nil || r.Proof.Root.String() != b.Root || r.Proof.Verify(sum) != nil || r.Proof.AnchorTxID != b.TxID {
			t.Fatalf("record %d proof does not verify against the ledger's batch: %v", i, err)
		}
	}
	// One access on the ledger, with the digest of what was delivered.
	acc, err := x.bank.ledger.GetAccess(context.Background(), res.AccessID)
	if err != nil || acc.TxID != res.TxID || acc.Digest != res.Digest || acc.RecordCount != 14 || acc.Mode != "records" {
		t.Fatalf("access %+v, %v", acc, err)
	}
	if x.accessCount() != 1 || x.auth(authBank).Uses != 1 {
		t.Fatalf("%d accesses, %d uses", x.accessCount(), x.auth(authBank).Uses)
	}
	if r, ok := x.receipt(res.AccessID); !ok || r.TxID != res.TxID || r.Digest != res.Digest || r.RequesterMSP != "BankMSP" {
		t.Fatalf("provider receipt %+v", r)
	}
}

func TestDataRequestPredicates(t *testing.T) {
	x := newXnet(t)
	hf := func(min string) map[string]string {
		return map[string]string{"months": "12", "as_of": "2026-11-02", "min_amount": min}
	}
	for _, tc := range []struct {
		name string
		gw   *requesterGateway
		body string
		want bool
	}{
		{"housing fund each month ≥ 800 yuan", x.bank, predicateRequest(authBank, synth.HousingFund, vault.PredicateHousingFundEachMonth, hf("80000")), true},
		{"housing fund each month ≥ 1000 yuan (March short)", x.bank, predicateRequest(authBank, synth.HousingFund, vault.PredicateHousingFundEachMonth, hf("100000")), false},
		{"deceased before June", x.insurer, predicateRequest(authInsurer, synth.DeathRegistration, vault.PredicateDeceasedBefore, map[string]string{"date": "2026-06-01"}), true},
		{"deceased before April", x.insurer, predicateRequest(authInsurer, synth.DeathRegistration, vault.PredicateDeceasedBefore, map[string]string{"date": "2026-04-01"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.gw.do(t, "POST", "/v1/data-requests", tc.body)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			res := decodeBody[dataResult](t, w)
			if !res.Verified || res.Answer == nil || *res.Answer != tc.want || res.Records != nil || res.Predicate == nil {
				t.Fatalf("result %s", w.Body)
			}
			if strings.Contains(w.Body.String(), "citizen_id") || strings.Contains(w.Body.String(), "amount_fen") {
				t.Fatalf("a predicate answer carries record data: %s", w.Body)
			}
			acc, _ := x.net.Ledger("BureauMSP").GetAccess(context.Background(), res.AccessID)
			if acc.Mode != model.ModePredicate || acc.Predicate != res.Predicate.Code || acc.RecordCount != 0 {
				t.Fatalf("access %+v", acc)
			}
		})
	}
}

// TestDataRequestRetryRecordsOneAccess: a retried access id is answered
// from the first delivery and records no second access; once that delivery
// has used the last use, the retry is refused like any new delivery.
func TestDataRequestRetryRecordsOneAccess(t *testing.T) {
	x := newXnet(t)
	const twoUses = "auth-bank-2"
	x.authorize("BankMSP", x.applicantRef, model.AuthorizationRequest{ID: twoUses, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{synth.HousingFund}, MaxUses: 2})
	x.net.ClearCalls()
	body := recordsRequest(twoUses, synth.HousingFund)
	first := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-42")
	if first.Code != 200 {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	// As if the first response had been lost before the idempotency store
	// kept it: the retry reaches the provider again.
	x.bank.idem.recs = nil
	again := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-42")
	if again.Code != 200 {
		t.Fatalf("retry: %d %s", again.Code, again.Body)
	}
	a, b := decodeBody[dataResult](t, first), decodeBody[dataResult](t, again)
	if a.AccessID != b.AccessID || a.TxID != b.TxID || a.Digest != b.Digest {
		t.Fatalf("retry answered another delivery: %s vs %s", a.AccessID, b.AccessID)
	}
	if n := x.accessCount(); n != 1 {
		t.Fatalf("%d accesses recorded, want 1", n)
	}
	if got := x.accessSubmits(); len(got) != 1 || !strings.Contains(got[0], `"id":"`+a.AccessID+`"`) {
		t.Fatalf("submitted %v, want one RecordAccess of %s", got, a.AccessID)
	}

	// The second key uses the last use; its lost answer is delivered
	// again (the same access), and no third access is recorded.
	if w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-43"); w.Code != 200 {
		t.Fatalf("second key: %d %s", w.Code, w.Body)
	}
	if a := x.auth(twoUses); a.Status != model.AuthExhausted {
		t.Fatalf("status %s after the last use", a.Status)
	}
	x.bank.idem.recs = nil
	w := x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-43")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "record_hash") {
		t.Fatalf("retry of the request that used the last use: %d %s", w.Code, w.Body)
	}
	// A new key is a new access, which the exhausted authorisation refuses.
	w = x.bank.do(t, "POST", "/v1/data-requests", body, "Idempotency-Key", "loan-44")
	if w.Code != 409 || errCode(t, w) != string(model.CodeAuthExhausted) {
		t.Fatalf("new key: %d %s", w.Code, w.Body)
	}
	if n := x.accessCount(); n != 2 {
		t.Fatalf("%d accesses recorded, want 2", n)
	}
}

// TestProviderAccessIDRetry drives the provider API directly: the same
// access id twice is one access; the same id for another delivery is
// refused.
func TestProviderAccessIDRetry(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	req := exchange.DeliveryRequest{AccessID: "acc-retry-1", AuthorizationID: authBank, Categories: []string{synth.HousingFund}, Mode: "records"}
	r1, err := x.bank.client.Deliver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := x.bank.client.Deliver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.TxID != r2.TxID || r1.Digest != r2.Digest || x.accessCount() != 1 {
		t.Fatalf("retry: %s/%s, %d accesses", r1.TxID, r2.TxID, x.accessCount())
	}
	// Both envelopes open to the same bytes, with the access id as aad.
	p1, err1 := envelope.Open(x.bank.key, r1.Payload)
	p2, err2 := envelope.Open(x.bank.key, r2.Payload)
	if err1 != nil || err2 != nil || !bytes.Equal(p1, p2) {
		t.Fatalf("payloads differ: %v %v", err1, err2)
	}
	if sum := sha256.Sum256(p1); hex.EncodeToString(sum[:]) != r1.Digest {
		t.Fatal("digest is not of the delivered bytes")
	}
	other := req
	other.Categories = []string{synth.HousingFund, synth.Tax}
	_, err = x.bank.client.Deliver(ctx, other)
	var pe *exchange.ProviderError
	if !asProviderError(err, &pe) || pe.Status != 409 || pe.Code != exchange.CodeAccessIDReused {
		t.Fatalf("reused access id: %v", err)
	}
	// The insurer cannot take over the bank's access id either.
	_, err = x.insurer.client.Deliver(ctx, exchange.DeliveryRequest{AccessID: "acc-retry-1", AuthorizationID: authInsurer,
		Categories: []string{synth.MedicalSettlement}, Mode: "records"})
	if !asProviderError(err, &pe) || pe.Status != 409 || pe.Code != exchange.CodeAccessIDReused {
		t.Fatalf("another requester's access id: %v", err)
	}
	if x.accessCount() != 1 {
		t.Fatalf("%d accesses", x.accessCount())
	}
}

// TestProviderRedeliveryAfterRevocation: the provider hands a committed
// access out again only while its authorisation is usable.
func TestProviderRedeliveryAfterRevocation(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	req := exchange.DeliveryRequest{AccessID: "acc-again-1", AuthorizationID: authBank, Categories: []string{synth.Tax}, Mode: "records"}
	if _, err := x.bank.client.Deliver(ctx, req); err != nil {
		t.Fatal(err)
	}
	x.decide(authBank, model.ActionRevoke)
	resp, err := x.bank.client.Deliver(ctx, req)
	var pe *exchange.ProviderError
	if !asProviderError(err, &pe) || pe.Status != 409 || pe.Code != string(model.CodeAuthRevoked) || resp != nil {
		t.Fatalf("re-delivery after revocation: %+v, %v", resp, err)
	}
	if n := len(x.accessSubmits()); n != 1 {
		t.Fatalf("RecordAccess submitted %d times", n)
	}
}

// TestProviderRetryAfterLostCommit: the receipt is stored and the access
// commits, but the receipt never learns its transaction (the store failed
// just then); the retry asks the ledger and submits nothing.
func TestProviderRetryAfterLostCommit(t *testing.T) {
	x := newXnet(t)
	ctx := context.Background()
	x.safe.failSetTx(true)
	req := exchange.DeliveryRequest{AccessID: "acc-lost-1", AuthorizationID: authBank, Categories: []string{synth.Tax}, Mode: "records"}
	first, err := x.bank.client.Deliver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := x.receipt("acc-lost-1"); r.TxID != "" {
		t.Fatalf("receipt has tx %q", r.TxID)
	}
	x.safe.failSetTx(false)
	again, err := x.bank.client.Deliver(ctx, req)
	if err != nil || again.TxID != first.TxID || again.Digest != first.Digest {
		t.Fatalf("retry: %v %+v", err, again)
	}
	if n := len(x.accessSubmits()); n != 1 {
		t.Fatalf("RecordAccess submitted %d times", n)
	}
	if r, _ := x.receipt("acc-lost-1"); r.TxID != first.TxID {
		t.Fatalf("receipt not completed from the ledger: %+v", r)
	}
}

func asProviderError(err error, target **exchange.ProviderError) bool {
	pe, ok := err.(*exchange.ProviderError)
	if ok {
		*target = pe
	}
	return ok
}

// TestDeliveryUnverified: a delivery that fails any check is refused with
// 502 DELIVERY_UNVERIFIED naming the check, and nothing of it is returned.
func TestDeliveryUnverified(t *testing.T) {
	tamperRecord := func(d vault.Delivery) vault.Delivery {
		// A dishonest provider alters a record and records the digest of
		// what it sends: the digest matches, the record hash does not.
		body := bytes.Replace(d.Body, []byte(`"amount_fen":120000`), []byte(`"amount_fen":990000`), 1)
		return vault.Delivery{Body: body, Salt: d.Salt, Digest: vault.DeliveryDigest(d.Salt, body), RecordCount: d.RecordCount}
	}
	wrongDigest := func(d vault.Delivery) vault.Delivery {
		d.Digest = sha256.Sum256([]byte("something else"))
		return d
	}
	dropRecord := func(d vault.Delivery) vault.Delivery {
		d.RecordCount-- // the access records fewer records than delivered
		return d
	}
	for _, tc := range []struct {
		name  string
		setup func(x *xnet)
		check string
	}{
		{"tampered record", func(x *xnet) { x.builder.set(tamperRecord) }, exchange.CheckRecords},
		{"wrong digest", func(x *xnet) { x.builder.set(wrongDigest) }, exchange.CheckDigest},
		{"record count", func(x *xnet) { x.builder.set(dropRecord) }, exchange.CheckAccess},
		{"revoked record", func(x *xnet) {
			for h, body := range x.imported {
				if bytes.Contains(body, []byte(`"month":"2026-02"`)) {
					x.revoke(h, synth.HousingFund)
				}
			}
		}, exchange.CheckRevoked},
		// No transaction rewrites an anchored batch: these two states are
		// written past the chaincode (ledgertest.Rewrite).
		{"batch root rewritten on the ledger", func(x *xnet) {
			x.rewriteBatches(func(b *model.BatchAnchor) { b.Root = merkle.Hash(sha256.Sum256([]byte(b.Root))).String() })
		}, exchange.CheckRecords},
		{"batch anchored by another transaction", func(x *xnet) {
			x.rewriteBatches(func(b *model.BatchAnchor) { b.TxID = sha256Hex("another transaction") })
		}, exchange.CheckAnchor},
		{"encrypted to another key", func(x *xnet) {
			// The bank's key rotated on the ledger, not in its gateway.
			k, _ := envelope.GenerateKey()
			pub, _ := envelope.EncodePublicKey(k.PublicKey())
			if err := x.bank.ledger.SetEncryptionKey(context.Background(), pub); err != nil {
				x.t.Fatal(err)
			}
		}, exchange.CheckEnvelope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			tc.setup(x)
			w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.HousingFund))
			if w.Code != 502 || errCode(t, w) != CodeDeliveryUnverified {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			if !strings.Contains(w.Body.String(), "the "+tc.check+" check") {
				t.Fatalf("the error does not name the %s check: %s", tc.check, w.Body)
			}
			if strings.Contains(w.Body.String(), "citizen_id") || strings.Contains(w.Body.String(), "record_hash") {
				t.Fatalf("an unverified delivery leaked: %s", w.Body)
			}
		})
	}
}

// TestDataRequestWrongRequester: the bank cannot fetch under the insurer's
// authorisation, neither through its gateway nor by calling the provider.
func TestDataRequestWrongRequester(t *testing.T) {
	x := newXnet(t)
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authInsurer, synth.MedicalSettlement))
	if w.Code != 403 || errCode(t, w) != string(model.CodeRequesterMismatch) {
		t.Fatalf("through the gateway: %d %s", w.Code, w.Body)
	}
	_, err := x.bank.client.Deliver(context.Background(), exchange.DeliveryRequest{AccessID: "acc-steal-1",
		AuthorizationID: authInsurer, Categories: []string{synth.MedicalSettlement}, Mode: "records"})
	var pe *exchange.ProviderError
	if !asProviderError(err, &pe) || pe.Status != 403 || pe.Code != string(model.CodeRequesterMismatch) {
		t.Fatalf("at the provider: %v", err)
	}
	if got := x.accessSubmits(); len(got) != 0 {
		t.Fatalf("submitted %v", got)
	}
	if _, ok := x.receipt("acc-steal-1"); ok {
		t.Fatal("a receipt was stored for a refused delivery")
	}
}

// TestDataRequestStateRefusals: the authorisation's state, as checked by
// the provider, reaches the bank with its stable code; nothing recorded.
func TestDataRequestStateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(x *xnet)
		body   string
		status int
		code   string
	}{
		{"paused", func(x *xnet) { x.decide(authBank, model.ActionPause) },
			recordsRequest(authBank, synth.Tax), 409, string(model.CodeAuthPaused)},
		{"revoked", func(x *xnet) { x.decide(authBank, model.ActionRevoke) },
			recordsRequest(authBank, synth.Tax), 409, string(model.CodeAuthRevoked)},
		{"withdrawn", func(x *xnet) {
			if _, err := x.bank.ledger.Withdraw(context.Background(), authBank); err != nil {
				x.t.Fatal(err)
			}
		}, recordsRequest(authBank, synth.Tax), 409, string(model.CodeAuthWithdrawn)},
		{"expired", func(x *xnet) { x.expire() },
			recordsRequest(authBank, synth.Tax), 409, string(model.CodeAuthExpired)},
		{"requester suspended", func(x *xnet) {
			x.submit("BureauMSP", "registry:SetInstitutionStatus", "BankMSP", model.StatusSuspended)
		}, recordsRequest(authBank, synth.Tax), 403, string(model.CodeInstitutionInactive)},
		{"category not authorised", nil, recordsRequest(authBank, synth.SocialSecurity), 403, string(model.CodeCategoryOutOfScope)},
		{"unknown authorisation", nil, recordsRequest("auth-nope", synth.Tax), 404, string(model.CodeAuthNotFound)},
		{"no encryption key registered", func(x *xnet) {
			// No transaction removes a key: written past the chaincode.
			if err := ledgertest.Rewrite(x.net, "institution", "BankMSP", func(i *model.Institution) { i.EncryptionKey = "" }); err != nil {
				x.t.Fatal(err)
			}
		}, recordsRequest(authBank, synth.Tax), 409, exchange.CodeEncryptionKeyMissing},
		{"monthly window outside the data range", nil, predicateRequest(authBank, synth.HousingFund, vault.PredicateHousingFundEachMonth,
			map[string]string{"months": "24", "as_of": "2026-11-02", "min_amount": "1"}), 422, exchange.CodePredicateOutOfRange},
		{"records not anchored yet", func(x *xnet) {
			x.builder.inner = notAnchoredBuilder{}
		}, recordsRequest(authBank, synth.Tax), 503, exchange.CodeDataNotReady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			if tc.setup != nil {
				tc.setup(x)
			}
			w := x.bank.do(t, "POST", "/v1/data-requests", tc.body)
			if w.Code != tc.status || errCode(t, w) != tc.code {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			if x.accessCount() != 0 {
				t.Fatal("an access was recorded")
			}
		})
	}
}

type notAnchoredBuilder struct{}

func (notAnchoredBuilder) BuildDelivery(context.Context, vault.DeliveryHeader, []byte, []store.Record) (vault.Delivery, error) {
	return vault.Delivery{}, vault.ErrNotAnchored
}

// TestDataRequestOneProofCheckPerDelivery: the requester's gateway asks its
// peer to check all of a delivery's proofs in one evaluation, whatever the
// number of records; the other reads it makes do not grow with them either.
func TestDataRequestOneProofCheckPerDelivery(t *testing.T) {
	x := newXnet(t)
	x.net.ClearCalls()
	w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax, synth.HousingFund))
	if w.Code != 200 {
		t.Fatalf("data request: %d %s", w.Code, w.Body)
	}
	if res := decodeBody[dataResult](t, w); len(res.Records) != 14 {
		t.Fatalf("%d records, want 14", len(res.Records))
	}
	evaluates := map[string]int{}
	var proofs []model.ProofRequest
	for _, c := range x.net.Calls() {
		if c.Org != "BankMSP" || c.Submit {
			continue
		}
		evaluates[c.Name]++
		if c.Name == "anchor:VerifyProofs" {
			if err := json.Unmarshal([]byte(c.Args[0]), &proofs); err != nil {
				t.Fatal(err)
			}
		}
	}
	if evaluates["anchor:VerifyProofs"] != 1 || evaluates["anchor:VerifyProof"] != 0 || len(proofs) != 14 {
		t.Fatalf("proof checks: %v, %d proofs in the list; want one list of 14", evaluates, len(proofs))
	}
	// Each batch is read once, the access once.
	batches := map[string]bool{}
	for _, p := range proofs {
		batches[p.BatchID] = true
	}
	if evaluates["anchor:GetBatch"] != len(batches) || evaluates["access:GetAccess"] != 1 {
		t.Fatalf("the bank's evaluations: %v for %d batches", evaluates, len(batches))
	}
	t.Logf("the bank's evaluations for a delivery of 14 records: %v", evaluates)
}
