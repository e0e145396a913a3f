package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger/ledgertest"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

// blockOf is a TxBlocks that places every transaction in one block.
type blockOf uint64

func (b blockOf) TxBlock(context.Context, string) (uint64, error) { return uint64(b), nil }

// withArtefacts gives the harness's gateway its artefact key.
func withArtefacts(t *testing.T, h *harness, msp string) *jws.Signer {
	t.Helper()
	signer := artefacttest.NewSigner(t)
	api, err := artefact.NewIssuer(h.net.Ledger(msp), blockOf(42), signer, ledgertest.Channel)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Artefacts = api
	return signer
}

func TestConsentArtefact(t *testing.T) {
	h := newHarness(t)
	signer := withArtefacts(t, h, "BankMSP")

	w := h.do("GET", "/v1/authorizations/auth-mine/artefact", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != ContentTypeJOSE {
		t.Fatalf("artefact: %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	v, err := artefact.Verify(w.Body.String())
	if err != nil {
		t.Fatalf("the gateway's artefact does not verify: %v", err)
	}
	a := v.Artefact
	if v.SignerKeyID != signer.KeyID() || a.Issuer != "BankMSP" || a.Authorization.ID != "auth-mine" ||
		a.Decision.Action != model.ActionGrant || a.Decision.Block != 42 || a.Channel != ledgertest.Channel {
		t.Fatalf("artefact %+v signed by %s", a, v.SignerKeyID)
	}

	// The key set names the key that signed.
	w = h.do("GET", "/v1/keys/artefact", "", "Authorization", "")
	var ks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &ks) != nil || len(ks.Keys) != 1 || ks.Keys[0].Kid != signer.KeyID() {
		t.Fatalf("key set: %d %s", w.Code, w.Body)
	}
}

func TestConsentArtefactOfAnotherInstitutionIsNotFound(t *testing.T) {
	// The insurer's gateway, asked for the bank's authorisation; and the
	// bank's, asked for the insurer's.
	for _, tc := range []struct{ msp, id string }{{"InsurerMSP", "auth-mine"}, {"BankMSP", "auth-other"}} {
		h := newHarnessAs(t, tc.msp)
		withArtefacts(t, h, tc.msp)
		w := h.do("GET", "/v1/authorizations/"+tc.id+"/artefact", "")
		if w.Code != 404 || errCode(t, w) != string(model.CodeAuthNotFound) {
			t.Fatalf("%s asks for %s: %d %s, want 404 AUTH_NOT_FOUND", tc.msp, tc.id, w.Code, w.Body)
		}
	}
}

func TestConsentArtefactBeforeADecision(t *testing.T) {
	h := newHarnessAs(t, "InsurerMSP")
	withArtefacts(t, h, "InsurerMSP")
	w := h.do("GET", "/v1/authorizations/auth-other/artefact", "")
	if w.Code != 409 || errCode(t, w) != CodeAuthNotDecided {
		t.Fatalf("pending authorisation: %d %s, want 409 %s", w.Code, w.Body, CodeAuthNotDecided)
	}
	h = newHarness(t) // without an artefact key
	if w := h.do("GET", "/v1/authorizations/auth-mine/artefact", ""); w.Code != 503 || errCode(t, w) != CodeArtefactUnavailable {
		t.Fatalf("no artefact key: %d %s", w.Code, w.Body)
	}
}
