package integration

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/internal/identitytest"
	qcledger "github.com/quanchain/quanchain/ledger"
)

// enrolWith submits registry:AddCitizenKey for d and the citizen ref in
// the bank's collection, as the operator, with proof.
func enrolWith(t *testing.T, ref string, d *device, proof *model.EnrolmentProof) ([]byte, error) {
	t.Helper()
	in := model.CitizenKeyInput{Requester: bank, CitizenRef: ref, JWK: d.jwk, Kind: model.KeyWebCrypto, Proof: proof}
	return as(t, bureau).submitWith("registry:AddCitizenKey", bank, nil, model.TransientKey, in)
}

// ledgerAs is org's typed ledger client on the test network.
func ledgerAs(t *testing.T, org string) *qcledger.Ledger {
	t.Helper()
	conn, err := testNet.Connection(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return qcledger.FromConnection(conn)
}

// thumbprintOf is the key id the chaincode gives d's key.
func thumbprintOf(t *testing.T, d *device) string {
	pub, err := sig.ParseJWK([]byte(d.jwk))
	if err != nil {
		t.Fatal(err)
	}
	return sig.Thumbprint(pub)
}

// TestOperatorAloneCannotConsent: on the real network, the operator —
// which submits every enrolment and decision, but holds no key of the
// identity provider the ledger trusts — cannot enrol a key without a
// proof, with a token of its own making or one made for another key, by
// installing a provider of its own, or by borrowing another person's
// login; and a key enrolled with another person's login cannot grant.
func TestOperatorAloneCannotConsent(t *testing.T) {
	victim := newCitizen("370102198803030031", "孙八", "13500000000")
	authID := id("alone")
	as(t, bank).mustSubmit("consent:RequestAuthorization", mustJSON(lending(authID, victim.ref)))

	d := newDevice(t)
	kid := thumbprintOf(t, d)
	nonce := model.EnrolmentNonce(kid, "s1")
	forger, err := identitytest.NewProvider(devIssuer, devAudience)
	if err != nil {
		t.Fatal(err)
	}
	real := devProvider(t)
	// A token signed with the operator's own key under the provider's kid.
	impostor := &identitytest.Provider{Issuer: devIssuer, Audience: devAudience, KeyID: real.KeyID, Key: forger.Key}
	mint := func(p *identitytest.Provider, idNumber, nonce, acr string, o identitytest.Overrides) *model.EnrolmentProof {
		tok, err := p.MintIDToken(idNumber, nonce, acr, o)
		if err != nil {
			t.Fatal(err)
		}
		return identitytest.IDTokenProof(tok)
	}

	cases := []struct {
		name  string
		proof *model.EnrolmentProof
		want  model.Code
	}{
		{"no proof", nil, model.CodeProofRequired},
		{"a token of the operator's own provider", mint(forger, victim.IDNumber, nonce, devACR, identitytest.Overrides{}), model.CodeIDTokenInvalid},
		{"a token signed by the operator under the provider's key id", mint(impostor, victim.IDNumber, nonce, devACR, identitytest.Overrides{}), model.CodeIDTokenInvalid},
		{"a real token made for another key", mint(real, victim.IDNumber, model.EnrolmentNonce("another-key", "s1"), devACR, identitytest.Overrides{}), model.CodeIDTokenInvalid},
		{"a real token of a weaker login", mint(real, victim.IDNumber, nonce, "urn:quanchain:loa:password", identitytest.Overrides{}), model.CodeIDTokenInvalid},
		{"a real token an hour old", mint(real, victim.IDNumber, nonce, devACR, identitytest.Overrides{Now: time.Now().Add(-time.Hour)}), model.CodeIDTokenInvalid},
		{"a real token for another audience", mint(real, victim.IDNumber, nonce, devACR, identitytest.Overrides{Audience: "another-client"}), model.CodeIDTokenInvalid},
		{"an approval signed by a key the citizen does not have", func() *model.EnrolmentProof {
			other, err := identitytest.NewPasskey()
			if err != nil {
				t.Fatal(err)
			}
			p, err := identitytest.WebCryptoApproval(other, identitytest.Approval("quanchain", kid, "", time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}(), model.CodeApprovalInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := enrolWith(t, victim.ref, d, tc.proof)
			wantCode(t, err, tc.want)
		})
	}

	t.Run("a provider of the operator's own is not trusted without the supervisor", func(t *testing.T) {
		l := ledgerAs(t, bureau)
		before, err := l.GetIdentityPolicy(ctxFor(t))
		if err != nil || before.Active == nil {
			t.Fatalf("no identity policy in force: %v", err)
		}
		own := forger.Policy(before.Active.Policy.RPID, before.Active.Policy.Origins, true)
		own.ACRValues = []string{devACR}
		digest, err := l.ProposeIdentityPolicy(ctxFor(t), own)
		if err != nil {
			t.Fatal(describe(err))
		}
		// The operator cannot approve its own proposal, nor can a bank.
		wantCode(t, l.ApproveIdentityPolicy(ctxFor(t), digest), model.CodeForbiddenMSP)
		wantCode(t, ledgerAs(t, bank).ApproveIdentityPolicy(ctxFor(t), digest), model.CodeForbiddenMSP)
		_, err = enrolWith(t, victim.ref, d, mint(forger, victim.IDNumber, nonce, devACR, identitytest.Overrides{}))
		wantCode(t, err, model.CodeIDTokenInvalid)
		after, err := l.GetIdentityPolicy(ctxFor(t))
		if err != nil || after.Active == nil || after.Active.Digest != before.Active.Digest {
			t.Fatalf("the policy in force changed without the supervisor: before %+v, after %+v (%v)", before.Active, after.Active, err)
		}
		// Leave nothing pending for the next `make up` to meet: the
		// network's own policy, proposed again, replaces the proposal.
		if _, err := l.ProposeIdentityPolicy(ctxFor(t), before.Active.Policy); err != nil {
			t.Fatal(describe(err))
		}
	})

	t.Run("a key enrolled with another person's login cannot grant", func(t *testing.T) {
		accomplice := newDevice(t)
		ak := thumbprintOf(t, accomplice)
		// The operator's accomplice logs in as themself, for a key the
		// operator then files under the victim's ref: the chaincode
		// enrols it (it cannot know which ref an ID number has), bound to
		// the accomplice's subject.
		if _, err := enrolWith(t, victim.ref, accomplice, mint(real, "110101199001011234", model.EnrolmentNonce(ak, "s2"), devACR, identitytest.Overrides{})); err != nil {
			t.Fatal(describe(err))
		}
		accomplice.kid = ak
		a := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
		p := model.NewDecisionPayload("quanchain", &a, registryTerms(t, &a), model.ActionGrant, time.Now()).Bytes()
		_, err := as(t, bureau).submitWith("consent:Decide", bank, []string{authID}, model.TransientDecision,
			model.DecisionInput{Payload: base64.StdEncoding.EncodeToString(p), Signature: accomplice.sign(t, p), KeyID: ak})
		wantCode(t, err, model.CodeSubjectMismatch)
	})

	got := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
	if got.Status != model.AuthPending {
		t.Fatalf("the authorisation is %s after the operator's attempts, want PENDING", got.Status)
	}
}
