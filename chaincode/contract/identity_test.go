package contract_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/identitytest"
)

// passkeyPolicy is the test provider's policy with passkeys only.
func passkeyPolicy(t *testing.T) model.IdentityPolicy {
	return testProvider(t).Policy(identitytest.RPID, []string{identitytest.Origin}, false)
}

func newPasskey(t *testing.T) *identitytest.Passkey {
	t.Helper()
	k, err := identitytest.NewPasskey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *testEnv) addKey(in model.CitizenKeyInput) (string, error) {
	e.t.Helper()
	return e.call(opMSP, "registry:AddCitizenKey", mustJSON(in))
}

// enrolPasskey enrols k for ref in the bank's collection with an ID token
// for idNumber.
func (e *testEnv) enrolPasskey(ref string, k *identitytest.Passkey, idNumber string) {
	e.t.Helper()
	in := model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: k.JWK, Kind: model.KeyWebAuthn,
		Proof: identitytest.IDTokenProof(e.idToken(idNumber, k.KeyID, identitytest.Overrides{}))}
	if _, err := e.addKey(in); err != nil {
		e.t.Fatalf("enrol passkey: %v", err)
	}
}

// decidePasskey has k assert action on authorisation id.
func (e *testEnv) decidePasskey(id string, k *identitytest.Passkey, action model.Action, uv bool) (string, error) {
	e.t.Helper()
	p := e.payload(id, action)
	a, err := k.AssertPayload(p, identitytest.RPID, identitytest.Origin, uv)
	if err != nil {
		e.t.Fatal(err)
	}
	in := model.DecisionInput{Payload: b64std(p), Signature: a.Signature, KeyID: k.KeyID,
		AuthenticatorData: a.AuthenticatorData, ClientDataJSON: a.ClientDataJSON}
	return e.call(opMSP, "consent:Decide", id, mustJSON(in))
}

func TestIdentityPolicy(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	p := passkeyPolicy(t)

	t.Run("only the operator proposes", func(t *testing.T) {
		for _, msp := range []string{bankMSP, auditMSP, rogueMSP} {
			_, err := e.call(msp, "registry:ProposeIdentityPolicy", mustJSON(p))
			wantCode(t, err, model.CodeForbiddenMSP)
		}
	})

	t.Run("validation", func(t *testing.T) {
		with := func(f func(*model.IdentityPolicy)) string {
			q := passkeyPolicy(t)
			f(&q)
			return mustJSON(q)
		}
		tests := []struct {
			name  string
			input string
			want  model.Code
		}{
			{"http issuer", with(func(q *model.IdentityPolicy) { q.Issuer = "http://id.gov.test" }), model.CodeInvalidArgument},
			{"issuer not a URL", with(func(q *model.IdentityPolicy) { q.Issuer = "id.gov.test" }), model.CodeInvalidArgument},
			{"empty audience", with(func(q *model.IdentityPolicy) { q.Audience = "" }), model.CodeInvalidArgument},
			{"empty id claim", with(func(q *model.IdentityPolicy) { q.IDClaim = "" }), model.CodeInvalidArgument},
			{"no acr", with(func(q *model.IdentityPolicy) { q.ACRValues = nil }), model.CodeInvalidArgument},
			{"no keys", with(func(q *model.IdentityPolicy) { q.JWKS = `{"keys":[]}` }), model.CodeInvalidKey},
			{"bad jwks", with(func(q *model.IdentityPolicy) { q.JWKS = `nope` }), model.CodeInvalidKey},
			{"token age", with(func(q *model.IdentityPolicy) { q.MaxTokenAgeSeconds = 3601 }), model.CodeInvalidArgument},
			{"rp id with scheme", with(func(q *model.IdentityPolicy) { q.RPID = "https://x.test" }), model.CodeInvalidArgument},
			{"origin of another host", with(func(q *model.IdentityPolicy) { q.Origins = []string{"https://evil.test"} }), model.CodeInvalidArgument},
			{"http origin", with(func(q *model.IdentityPolicy) { q.Origins = []string{"http://consent.quanchain.test"} }), model.CodeInvalidArgument},
			{"origin with path", with(func(q *model.IdentityPolicy) { q.Origins = []string{identitytest.Origin + "/app"} }), model.CodeInvalidArgument},
			{"no origins", with(func(q *model.IdentityPolicy) { q.Origins = nil }), model.CodeInvalidArgument},
			{"unknown field", `{"issuer":"https://x.test","colour":"red"}`, model.CodeMalformedJSON},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.call(opMSP, "registry:ProposeIdentityPolicy", tc.input)
				wantCode(t, err, tc.want)
			})
		}
		// Loopback issuers and origins are for development.
		local := with(func(q *model.IdentityPolicy) {
			q.Issuer, q.RPID, q.Origins, q.MaxTokenAgeSeconds = "http://127.0.0.1:5556/dex", "localhost", []string{"http://localhost:8080"}, 0
		})
		e.must(opMSP, "registry:ProposeIdentityPolicy", local)
		st := decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy"))
		if st.Pending == nil || st.Pending.Policy.MaxTokenAgeSeconds != 600 {
			t.Fatalf("pending %+v", st.Pending)
		}
	})

	t.Run("a proposal takes effect only once the supervisor approves it", func(t *testing.T) {
		before := decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy")).Active
		digest := e.must(opMSP, "registry:ProposeIdentityPolicy", mustJSON(p))
		if ev := e.lastEvent(); ev.Name != model.EventIdentityPolicyProposed || ev.PolicyDigest != digest || ev.MSPID != opMSP {
			t.Fatalf("event %+v", ev)
		}
		st := decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy"))
		if st.Active == nil || st.Active.Digest != before.Digest || st.Pending == nil || st.Pending.Digest != digest || st.Pending.Active {
			t.Fatalf("state after proposal %+v", st)
		}
		for _, msp := range []string{opMSP, bankMSP, otherMSP} {
			wantCode(t, func() error { _, err := e.call(msp, "registry:ApproveIdentityPolicy", digest); return err }(), model.CodeForbiddenMSP)
		}
		_, err := e.call(auditMSP, "registry:ApproveIdentityPolicy", hash("another policy"))
		wantCode(t, err, model.CodeInvalidArgument)
		e.must(auditMSP, "registry:ApproveIdentityPolicy", digest)
		if ev := e.lastEvent(); ev.Name != model.EventIdentityPolicyApproved || ev.PolicyDigest != digest || ev.MSPID != auditMSP {
			t.Fatalf("event %+v", ev)
		}
		st = decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy"))
		if st.Pending != nil || st.Active == nil || st.Active.Digest != digest || !st.Active.Active ||
			st.Active.ProposedBy != opMSP || st.Active.ApprovedBy != auditMSP {
			t.Fatalf("state after approval %+v", st)
		}
		_, err = e.call(auditMSP, "registry:ApproveIdentityPolicy", digest)
		wantCode(t, err, model.CodePolicyNotSet)
	})
}

func TestEnrolmentRefusals(t *testing.T) {
	t.Run("no policy in force", func(t *testing.T) {
		e := newEnv(t)
		e.must(opMSP, "registry:Bootstrap", mustJSON(institution(opMSP, model.KindProvider)))
		e.must(opMSP, "registry:RegisterInstitution", mustJSON(institution(bankMSP, model.KindBank)))
		k := newPasskey(t)
		_, err := e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: citizenRef(1), JWK: k.JWK, Kind: model.KeyWebAuthn,
			Proof: identitytest.IDTokenProof(e.idToken(idNumberFor(citizenRef(1)), k.KeyID, identitytest.Overrides{}))})
		wantCode(t, err, model.CodePolicyNotSet)
	})

	e := newEnv(t)
	e.bootstrap()
	e.setPolicy(passkeyPolicy(t))
	ref := citizenRef(1)
	id := idNumberFor(ref)
	k := newPasskey(t)
	good := func() model.CitizenKeyInput {
		return model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: k.JWK, Kind: model.KeyWebAuthn,
			Proof: identitytest.IDTokenProof(e.idToken(id, k.KeyID, identitytest.Overrides{}))}
	}
	with := func(f func(*model.CitizenKeyInput)) model.CitizenKeyInput { in := good(); f(&in); return in }
	token := func(o identitytest.Overrides) func(*model.CitizenKeyInput) {
		return func(in *model.CitizenKeyInput) { in.Proof.IDToken = e.idToken(id, k.KeyID, o) }
	}
	rogue, err := identitytest.NewProvider(testProvider(t).Issuer, testProvider(t).Audience)
	if err != nil {
		t.Fatal(err)
	}
	rogue.KeyID = testProvider(t).KeyID
	rogueToken, err := rogue.MintIDToken(id, model.EnrolmentNonce(k.KeyID, "s"), identitytest.ACR, identitytest.Overrides{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	other := newPasskey(t)
	tests := []struct {
		name string
		in   model.CitizenKeyInput
		want model.Code
	}{
		{"no proof", with(func(in *model.CitizenKeyInput) { in.Proof = nil }), model.CodeProofRequired},
		{"unknown proof", with(func(in *model.CitizenKeyInput) { in.Proof.Kind = "word" }), model.CodeProofRequired},
		{"no kind", with(func(in *model.CitizenKeyInput) { in.Kind = "" }), model.CodeInvalidArgument},
		{"webcrypto not allowed", with(func(in *model.CitizenKeyInput) { in.Kind = model.KeyWebCrypto }), model.CodeUserVerification},
		{"the operator's own key", with(func(in *model.CitizenKeyInput) { in.Proof.IDToken = rogueToken }), model.CodeIDTokenInvalid},
		{"a token for another key", with(func(in *model.CitizenKeyInput) {
			in.Proof.IDToken = e.idToken(id, other.KeyID, identitytest.Overrides{})
		}), model.CodeIDTokenInvalid},
		{"acr not accepted", with(token(identitytest.Overrides{Claims: map[string]any{"acr": "urn:low"}})), model.CodeIDTokenInvalid},
		{"expired", with(token(identitytest.Overrides{IssuedAt: t0.Add(-6 * time.Minute), Expiry: t0.Add(-time.Minute)})), model.CodeIDTokenInvalid},
		{"too old", with(token(identitytest.Overrides{IssuedAt: t0.Add(-11 * time.Minute), Expiry: t0.Add(time.Hour)})), model.CodeIDTokenInvalid},
		{"other audience", with(token(identitytest.Overrides{Audience: "another-client"})), model.CodeIDTokenInvalid},
		{"other issuer", with(token(identitytest.Overrides{Issuer: "https://evil.test"})), model.CodeIDTokenInvalid},
		{"not a token", with(func(in *model.CitizenKeyInput) { in.Proof.IDToken = "a.b.c" }), model.CodeIDTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.addKey(tc.in)
			wantCode(t, err, tc.want)
			if err != nil && (strings.Contains(err.Error(), id) || tc.in.Proof != nil && tc.in.Proof.IDToken != "" && strings.Contains(err.Error(), tc.in.Proof.IDToken)) {
				t.Fatalf("the refusal names the ID number or the token: %v", err)
			}
		})
	}

	t.Run("enrolled with the proof, and nothing personal written", func(t *testing.T) {
		in := good()
		kid, err := e.addKey(in)
		if err != nil || kid != k.KeyID {
			t.Fatalf("AddCitizenKey = %q, %v", kid, err)
		}
		cz := decode[model.Citizen](t, e.must(auditMSP, "registry:GetCitizen", bankMSP, ref))
		dk := cz.Keys[0]
		if dk.Kind != model.KeyWebAuthn || dk.Proof != model.ProofIDToken || dk.ApprovedBy != "" || dk.Subject != subjectFor(bankMSP, ref) {
			t.Fatalf("key %+v", dk)
		}
		for _, b := range e.ledger.AllBytes() {
			if strings.Contains(string(b), id) || strings.Contains(string(b), in.Proof.IDToken[:40]) {
				t.Fatalf("the ledger holds the ID number or the token: %.120q", b)
			}
		}
	})
}

// TestOnlyTheCitizenConsents plays an operator that wants a grant the
// citizen never made: every path it has alone is refused, and the
// citizen's own passkey grant is recorded as user-verified.
func TestOnlyTheCitizenConsents(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	e.setPolicy(passkeyPolicy(t))
	ref := citizenRef(7)
	id := idNumberFor(ref)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	wantRefused := func(t *testing.T, err error, code model.Code) {
		t.Helper()
		wantCode(t, err, code)
		if a := e.getAuth("auth-1"); a.Status != model.AuthPending {
			t.Fatalf("authorisation is %s", a.Status)
		}
	}

	// The operator's own key pair, enrolled with whatever it can make.
	opKey := newPasskey(t)
	enrol := func(proof *model.EnrolmentProof) error {
		_, err := e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: opKey.JWK, Kind: model.KeyWebAuthn, Proof: proof})
		return err
	}
	t.Run("no proof", func(t *testing.T) { wantRefused(t, enrol(nil), model.CodeProofRequired) })
	t.Run("an ID token the operator signed", func(t *testing.T) {
		own, err := identitytest.NewProvider(testProvider(t).Issuer, testProvider(t).Audience)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := own.MintIDToken(id, model.EnrolmentNonce(opKey.KeyID, "s"), identitytest.ACR, identitytest.Overrides{Now: e.now})
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, enrol(identitytest.IDTokenProof(tok)), model.CodeIDTokenInvalid)

		t.Run("and its own policy, unapproved", func(t *testing.T) {
			before := decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy")).Active
			e.must(opMSP, "registry:ProposeIdentityPolicy", mustJSON(own.Policy(identitytest.RPID, []string{identitytest.Origin}, true)))
			wantRefused(t, enrol(identitytest.IDTokenProof(tok)), model.CodeIDTokenInvalid)
			after := decode[model.IdentityPolicyState](t, e.must(bankMSP, "registry:GetIdentityPolicy")).Active
			if after.Digest != before.Digest {
				t.Fatal("a proposal replaced the policy in force")
			}
		})
	})
	t.Run("the citizen's token replayed for another key", func(t *testing.T) {
		citizenKey := newPasskey(t)
		tok := e.idToken(id, citizenKey.KeyID, identitytest.Overrides{})
		wantRefused(t, enrol(identitytest.IDTokenProof(tok)), model.CodeIDTokenInvalid)
	})
	t.Run("an acr not accepted", func(t *testing.T) {
		tok := e.idToken(id, opKey.KeyID, identitytest.Overrides{Claims: map[string]any{"acr": "urn:quanchain:loa:low"}})
		wantRefused(t, enrol(identitytest.IDTokenProof(tok)), model.CodeIDTokenInvalid)
	})
	t.Run("an old token", func(t *testing.T) {
		tok := e.idToken(id, opKey.KeyID, identitytest.Overrides{IssuedAt: e.now.Add(-time.Hour), Expiry: e.now.Add(-50 * time.Minute)})
		wantRefused(t, enrol(identitytest.IDTokenProof(tok)), model.CodeIDTokenInvalid)
	})
	t.Run("a token of another person enrols, but cannot grant", func(t *testing.T) {
		tok := e.idToken(idNumberFor(citizenRef(8)), opKey.KeyID, identitytest.Overrides{})
		if err := enrol(identitytest.IDTokenProof(tok)); err != nil {
			t.Fatalf("enrol: %v", err)
		}
		_, err := e.decidePasskey("auth-1", opKey, model.ActionGrant, true)
		wantRefused(t, err, model.CodeSubjectMismatch)

		// Nor may the citizen's own key join a record of another person.
		citizenKey := newPasskey(t)
		_, err = e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: citizenKey.JWK, Kind: model.KeyWebAuthn,
			Proof: identitytest.IDTokenProof(e.idToken(id, citizenKey.KeyID, identitytest.Overrides{}))})
		wantCode(t, err, model.CodeSubjectMismatch)
		e.must(opMSP, "registry:RevokeCitizenKey", bankMSP, ref, opKey.KeyID)
	})

	// The citizen enrols a passkey, then a second device with its approval.
	phone := newPasskey(t)
	e.enrolPasskey(ref, phone, id)
	tablet := newPasskey(t)
	approval := identitytest.Approval(channel, tablet.KeyID, "iPad", e.now)
	addTablet := func(proof *model.EnrolmentProof, name string) error {
		_, err := e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: tablet.JWK, Kind: model.KeyWebAuthn, Name: name, Proof: proof})
		return err
	}
	t.Run("a device approval signed by another citizen's key", func(t *testing.T) {
		stranger := newPasskey(t)
		e.enrolPasskey(citizenRef(9), stranger, idNumberFor(citizenRef(9)))
		proof, err := identitytest.PasskeyApproval(stranger, approval, identitytest.RPID, identitytest.Origin)
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, addTablet(proof, "iPad"), model.CodeApprovalInvalid)
	})
	t.Run("device approvals refused", func(t *testing.T) {
		sign := func(b []byte) *model.EnrolmentProof {
			p, err := identitytest.PasskeyApproval(phone, b, identitytest.RPID, identitytest.Origin)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		noUV, err := phone.AssertPayload(approval, identitytest.RPID, identitytest.Origin, false)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			proof *model.EnrolmentProof
			dev   string
			want  model.Code
		}{
			{"another name", sign(approval), "Android", model.CodeApprovalInvalid},
			{"another key", sign(identitytest.Approval(channel, newPasskey(t).KeyID, "iPad", e.now)), "iPad", model.CodeApprovalInvalid},
			{"another channel", sign(identitytest.Approval("other", tablet.KeyID, "iPad", e.now)), "iPad", model.CodeApprovalInvalid},
			{"too old", sign(identitytest.Approval(channel, tablet.KeyID, "iPad", e.now.Add(-11*time.Minute))), "iPad", model.CodeApprovalInvalid},
			{"not canonical", sign([]byte(strings.Replace(string(approval), `{"type"`, `{ "type"`, 1))), "iPad", model.CodeApprovalInvalid},
			{"no user verification", &model.EnrolmentProof{Kind: model.ProofDevice, Approval: base64URL(approval),
				Signer: &model.Signature{KeyID: phone.KeyID, Signature: noUV.Signature, AuthenticatorData: noUV.AuthenticatorData,
					ClientDataJSON: noUV.ClientDataJSON}}, "iPad", model.CodeUserVerification},
			{"no assertion", &model.EnrolmentProof{Kind: model.ProofDevice, Approval: base64URL(approval),
				Signer: &model.Signature{KeyID: phone.KeyID, Signature: noUV.Signature}}, "iPad", model.CodeAssertionInvalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { wantRefused(t, addTablet(tc.proof, tc.dev), tc.want) })
		}
	})
	t.Run("a device approval of the citizen's passkey", func(t *testing.T) {
		proof, err := identitytest.PasskeyApproval(phone, approval, identitytest.RPID, identitytest.Origin)
		if err != nil {
			t.Fatal(err)
		}
		if err := addTablet(proof, "iPad"); err != nil {
			t.Fatalf("enrol tablet: %v", err)
		}
		cz := decode[model.Citizen](t, e.must(auditMSP, "registry:GetCitizen", bankMSP, ref))
		dk, _, _ := cz.ActiveKey(tablet.KeyID)
		if dk.Proof != model.ProofDevice || dk.ApprovedBy != phone.KeyID || dk.Subject != subjectFor(bankMSP, ref) {
			t.Fatalf("tablet %+v", dk)
		}
	})
	t.Run("a passkey assertion without user verification", func(t *testing.T) {
		_, err := e.decidePasskey("auth-1", phone, model.ActionGrant, false)
		wantRefused(t, err, model.CodeUserVerification)
	})
	t.Run("a passkey decision without its assertion", func(t *testing.T) {
		p := e.payload("auth-1", model.ActionGrant)
		s, err := phone.SignRaw(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.call(opMSP, "consent:Decide", "auth-1", b64std(p), s, phone.KeyID)
		wantRefused(t, err, model.CodeAssertionInvalid)
	})
	t.Run("the citizen's passkey grant", func(t *testing.T) {
		if _, err := e.decidePasskey("auth-1", tablet, model.ActionGrant, true); err != nil {
			t.Fatalf("grant: %v", err)
		}
		a := e.getAuth("auth-1")
		d := a.LastDecision
		if a.Status != model.AuthGranted || d == nil || !d.UserVerified || d.KeyID != tablet.KeyID ||
			d.AuthenticatorData == "" || d.ClientDataJSON == "" || a.Subject != subjectFor(bankMSP, ref) {
			t.Fatalf("authorisation %+v, decision %+v", a, d)
		}
	})
}

func TestWebCryptoKeys(t *testing.T) {
	e := newEnv(t)
	e.bootstrap() // WebCrypto keys allowed
	ref := citizenRef(3)
	d := newDevice(t)
	e.enrol(ref, d)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	e.request(bankMSP, lendingRequest("auth-2", ref))
	a := e.mustDecide("auth-1", d, model.ActionGrant)
	if a.LastDecision.UserVerified || a.LastDecision.AuthenticatorData != "" {
		t.Fatalf("decision %+v", a.LastDecision)
	}

	t.Run("a WebCrypto key approves a device while the policy allows it", func(t *testing.T) {
		k := newPasskey(t)
		approver := &identitytest.Passkey{Key: d.key, KeyID: d.kid}
		proof, err := identitytest.WebCryptoApproval(approver, identitytest.Approval(channel, k.KeyID, "", e.now))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: k.JWK, Kind: model.KeyWebAuthn, Proof: proof}); err != nil {
			t.Fatalf("enrol: %v", err)
		}
	})

	t.Run("refused once the policy takes passkeys only", func(t *testing.T) {
		e.setPolicy(passkeyPolicy(t))
		_, err := e.decide("auth-2", d, model.ActionGrant)
		wantCode(t, err, model.CodeUserVerification)
		k := newPasskey(t)
		approver := &identitytest.Passkey{Key: d.key, KeyID: d.kid}
		proof, err := identitytest.WebCryptoApproval(approver, identitytest.Approval(channel, k.KeyID, "", e.now))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.addKey(model.CitizenKeyInput{Requester: bankMSP, CitizenRef: ref, JWK: k.JWK, Kind: model.KeyWebAuthn, Proof: proof})
		wantCode(t, err, model.CodeUserVerification)
	})
}

func TestRequestNeedsSubject(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	for _, s := range []string{"", "ABC", strings.ToUpper(hash("x"))} {
		req := lendingRequest("auth-1", citizenRef(1))
		req.Subject = s
		_, err := e.call(bankMSP, "consent:RequestAuthorization", mustJSON(req))
		wantCode(t, err, model.CodeInvalidArgument)
	}
	req := lendingRequest("auth-1", citizenRef(1))
	pub := decode[model.Authorization](t, e.must(bankMSP, "consent:RequestAuthorization", mustJSON(req)))
	if pub.Subject != "" {
		t.Fatal("the public record names the subject")
	}
	for _, b := range e.ledger.AllBytes() {
		if strings.Contains(string(b), req.Subject) && !strings.Contains(string(b), `"citizen_ref"`) {
			t.Fatalf("the subject is outside the private record: %.160q", b)
		}
	}
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
