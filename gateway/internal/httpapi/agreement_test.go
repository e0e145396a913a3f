package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/ledger"
)

// The gateway checks some of the chaincode's rules before it submits, to
// spare the ledger a doomed transaction: a request's purpose and
// categories (checkPurpose), an authorisation's usability
// (model.Authorization.Usable, in the provider) and what it covers (in
// the requester). These tests hold each such check to the chaincode's own
// answer to the same transaction, submitted directly: the gateway must
// answer what the chaincode answers. A fake ledger that applies the
// gateway's rule agrees with it by construction; the chaincode run in
// process does not.
//
// Each request has one fault, or two the gateway must name in the
// chaincode's order. Where the two orders differ on purpose the case is
// left out: a delivery out of an authorisation's scope after its
// revocation (the requester checks what never changes before the state
// its peer may not have caught up with); either way the request is
// refused.

// TestAuthorizationChecksAgreeWithTheChaincode: for each request, the
// gateway answers POST /v1/authorizations with the code the chaincode
// gives consent:RequestAuthorization for it, or succeeds where the
// chaincode accepts it.
func TestAuthorizationChecksAgreeWithTheChaincode(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
	}{
		{"within the purpose", nil},
		{"unknown purpose", func(m map[string]any) { m["purpose"] = "GAMBLING" }},
		{"unknown category", func(m map[string]any) { m["categories"] = []string{"horoscope"} }},
		{"category outside the purpose", func(m map[string]any) { m["categories"] = []string{"medical_settlement"} }},
		{"one category of two outside the purpose", func(m map[string]any) { m["categories"] = []string{"tax", "medical_settlement"} }},
		{"outside the purpose, then unknown", func(m map[string]any) { m["categories"] = []string{"medical_settlement", "horoscope"} }},
		{"unknown, then outside the purpose", func(m map[string]any) { m["categories"] = []string{"zodiac", "medical_settlement"} }},
		{"a purpose not open to banks", func(m map[string]any) {
			m["purpose"], m["categories"] = "CLAIM_SETTLEMENT", []string{"medical_settlement"}
		}},
		{"a purpose not open to banks, with a category it does not allow", func(m map[string]any) {
			m["purpose"], m["categories"] = "CLAIM_SETTLEMENT", []string{"tax"}
		}},
		{"more uses than the purpose allows", func(m map[string]any) { m["max_uses"] = 4 }},
		{"valid longer than the purpose allows", func(m map[string]any) { m["valid_until"] = "2026-12-31T00:00:00Z" }},
		{"a longer data range than the purpose allows", func(m map[string]any) { m["data_from"] = "2023-01-01" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			body := validBody(func(m map[string]any) {
				if tc.edit != nil {
					tc.edit(m)
				}
			})
			w := h.do("POST", "/v1/authorizations", body)
			gateway := ""
			if w.Code != 201 {
				gateway = errCode(t, w)
			}

			var q createAuthorizationRequest
			if err := json.Unmarshal([]byte(body), &q); err != nil {
				t.Fatal(err)
			}
			ref, err := h.srv.Pseudonyms.Ref(q.CitizenID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.net.Ledger("BankMSP").RequestAuthorization(t.Context(), model.AuthorizationRequest{ID: "auth-direct", CitizenRef: ref,
				Purpose: q.Purpose, Categories: q.Categories, DataFrom: q.DataFrom, DataTo: q.DataTo, ValidUntil: q.ValidUntil,
				MaxUses: q.MaxUses, ReferenceHash: sha256Hex(q.Reference), Subject: model.SubjectDigest("BankMSP", ref, q.CitizenID)})
			if chaincode := string(ledger.CodeOf(err)); gateway != chaincode {
				t.Fatalf("the gateway answers %q (%d %s), the chaincode %q (%v)", gateway, w.Code, w.Body, chaincode, err)
			}
		})
	}
}

// TestDeliveryChecksAgreeWithTheChaincode: for each state of an
// authorisation, reached by the transactions that reach it, the provider
// refuses a delivery with the code the chaincode gives
// access:RecordAccess for it, without building or submitting anything;
// where the chaincode would record the access, the delivery is made.
func TestDeliveryChecksAgreeWithTheChaincode(t *testing.T) {
	withdraw := func(x *xnet) {
		if _, err := x.bank.ledger.Withdraw(context.Background(), authBank); err != nil {
			x.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		state func(x *xnet)
		auth  string
		cats  []string
	}{
		{"granted", nil, authBank, []string{synth.Tax}},
		{"pending", func(x *xnet) {
			if _, err := x.bank.ledger.RequestAuthorization(context.Background(), model.AuthorizationRequest{ID: "auth-bank-pending",
				CitizenRef: x.applicantRef, Purpose: "CREDIT_ASSESSMENT", Categories: []string{synth.Tax}, DataFrom: "2025-11-01",
				DataTo: "2026-10-31", ValidUntil: validUntil, MaxUses: 1, ReferenceHash: sha256Hex("LOAN-pending"),
				Subject: x.subject("BankMSP", x.applicantRef, x.applicantRef)}); err != nil {
				x.t.Fatal(err)
			}
		}, "auth-bank-pending", []string{synth.Tax}},
		{"paused", func(x *xnet) { x.decide(authBank, model.ActionPause) }, authBank, []string{synth.Tax}},
		{"revoked", func(x *xnet) { x.decide(authBank, model.ActionRevoke) }, authBank, []string{synth.Tax}},
		{"withdrawn", withdraw, authBank, []string{synth.Tax}},
		{"expired", func(x *xnet) { x.expire() }, authBank, []string{synth.Tax}},
		{"every use used", func(x *xnet) {
			for i := range 3 {
				if w := x.bank.do(x.t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax)); w.Code != 200 {
					x.t.Fatalf("use %d: %d %s", i+1, w.Code, w.Body)
				}
			}
		}, authBank, []string{synth.Tax}},
		{"requester suspended", func(x *xnet) {
			x.submit("BureauMSP", "registry:SetInstitutionStatus", "BankMSP", model.StatusSuspended)
		}, authBank, []string{synth.Tax}},
		{"another requester's authorisation", nil, authInsurer, []string{synth.MedicalSettlement}},
		{"a category the authorisation does not cover", nil, authBank, []string{synth.SocialSecurity}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXnet(t)
			if tc.state != nil {
				tc.state(x)
			}
			x.net.ClearCalls()
			w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(tc.auth, tc.cats...))
			gateway := ""
			if w.Code != 200 {
				gateway = errCode(t, w)
				if got := x.accessSubmits(); len(got) != 0 {
					t.Fatalf("refused with %s after submitting %v", gateway, got)
				}
			}

			_, err := x.net.Ledger("BureauMSP").RecordAccess(context.Background(), model.AccessRequest{ID: "acc-direct",
				AuthorizationID: tc.auth, Requester: "BankMSP", Categories: tc.cats, Mode: model.ModeRecords,
				Digest: sha256Hex(fmt.Sprint("delivery of ", tc.name)), RecordCount: 1})
			if chaincode := string(ledger.CodeOf(err)); gateway != chaincode {
				t.Fatalf("the gateway answers %q (%d %s), the chaincode %q (%v)", gateway, w.Code, w.Body, chaincode, err)
			}
		})
	}
}
