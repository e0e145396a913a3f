package artefact_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/ledger/ledgertest"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

func TestVerifyAcceptsAGrantAsTheLedgerKeepsIt(t *testing.T) {
	f := artefacttest.Granted(t, "auth-artefact-1")
	v, err := artefact.Verify(f.Sign(t, f.Artefact(t, 7)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.SignerKeyID != f.Signer.KeyID() || v.Payload.Action != model.ActionGrant || v.Artefact.Decision.Block != 7 {
		t.Fatalf("verified %+v", v)
	}
}

func TestVerifyRefusesTamperedArtefacts(t *testing.T) {
	f := artefacttest.Granted(t, "auth-artefact-2")
	other, err := ledgertest.NewDevice(f.Auth.CitizenRef)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := other.Sign(mustDecode(t, f.Auth.LastDecision.Payload))
	if err != nil {
		t.Fatal(err)
	}
	// bothDecisions edits the decision and the authorisation's copy of it.
	bothDecisions := func(a *artefact.Artefact, edit func(d *model.Decision)) {
		ld := *a.Authorization.LastDecision
		edit(&ld)
		a.Authorization.LastDecision = &ld
		a.Decision.Action, a.Decision.KeyID, a.Decision.Payload, a.Decision.Signature = ld.Action, ld.KeyID, ld.Payload, ld.Signature
	}
	for _, tc := range []struct {
		name string
		edit func(a *artefact.Artefact)
		code string
	}{
		{"more uses", func(a *artefact.Artefact) { a.Authorization.MaxUses = 3 }, artefact.CodePayloadMismatch},
		{"another category", func(a *artefact.Artefact) { a.Authorization.Categories = []string{"housing_fund", "real_estate"} },
			artefact.CodePayloadMismatch},
		{"longer retention", func(a *artefact.Artefact) { a.Terms.DataLifeDays += 365 }, artefact.CodePayloadMismatch},
		{"another channel", func(a *artefact.Artefact) { a.Channel = "elsewhere" }, artefact.CodePayloadMismatch},
		{"decision bytes changed", func(a *artefact.Artefact) {
			bothDecisions(a, func(d *model.Decision) {
				p, _ := model.ParseDecisionPayload(mustDecode(t, d.Payload))
				p.MaxUses = 3
				d.Payload = base64.StdEncoding.EncodeToString(p.Bytes())
			})
			a.Authorization.MaxUses = 3 // the terms follow, so only the citizen's signature can tell
		}, artefact.CodeCitizenSignature},
		{"decision bytes not canonical", func(a *artefact.Artefact) {
			bothDecisions(a, func(d *model.Decision) {
				d.Payload = base64.StdEncoding.EncodeToString(append(mustDecode(t, d.Payload), ' '))
			})
		}, artefact.CodePayloadInvalid},
		{"another device key", func(a *artefact.Artefact) {
			bothDecisions(a, func(d *model.Decision) { d.KeyID, d.Signature = other.KeyID, otherSig })
			a.DeviceKey.JWK, a.DeviceKey.KeyID = json.RawMessage(other.JWK), other.KeyID
		}, artefact.CodeKeyMismatch},
		{"another device key, its thumbprint claimed", func(a *artefact.Artefact) {
			a.DeviceKey.JWK = json.RawMessage(other.JWK)
		}, artefact.CodeKeyMismatch},
		{"signature of another key", func(a *artefact.Artefact) {
			bothDecisions(a, func(d *model.Decision) { d.Signature = otherSig })
		}, artefact.CodeCitizenSignature},
		{"decision not the last one", func(a *artefact.Artefact) { a.Decision.TxID = "f00d" }, artefact.CodeMalformed},
		{"issued by another institution", func(a *artefact.Artefact) { a.Issuer = "InsurerMSP" }, artefact.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.Artefact(t, 7)
			tc.edit(a)
			_, err := artefact.Verify(f.Sign(t, a)) // re-signed by the gateway: only the citizen's evidence can refuse it
			var ae *artefact.Error
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("Verify = %v, want %s", err, tc.code)
			}
		})
	}
	t.Run("payload changed without signing again", func(t *testing.T) {
		tok := f.Sign(t, f.Artefact(t, 7))
		parts := strings.Split(tok, ".")
		payload := strings.Replace(string(mustDecodeURL(t, parts[1])), `"max_uses":2`, `"max_uses":3`, 1)
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(payload))
		_, err := artefact.Verify(strings.Join(parts, "."))
		var ae *artefact.Error
		if !errors.As(err, &ae) || ae.Code != artefact.CodeSignatureInvalid {
			t.Fatalf("Verify = %v, want %s", err, artefact.CodeSignatureInvalid)
		}
	})
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecodeURL(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
