package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// softAuthenticator is a passkey in software: a P-256 key that answers
// navigator.credentials.create with a "none" attestation and .get with an
// assertion, both with user presence and verification.
type softAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	rpID   string
	origin string
	count  uint32
}

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softAuthenticator{key: k, credID: id, rpID: testRPID, origin: testOrigin}
}

var b64u = base64.RawURLEncoding

// authData is rpIdHash ‖ flags ‖ signCount, with the attested credential
// when cred is set.
func (a *softAuthenticator) authData(t *testing.T, cred bool) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	flags := byte(0x01 | 0x04) // UP, UV
	if cred {
		flags |= 0x40 // AT
	}
	a.count++
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	if !cred {
		return out
	}
	out = append(out, make([]byte, 16)...) // AAGUID
	out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
	out = append(out, a.credID...)
	raw, _ := a.key.PublicKey.Bytes()
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:]})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, cose...)
}

func (a *softAuthenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create answers creation options with a PublicKeyCredential as JSON.
func (a *softAuthenticator) create(t *testing.T, options json.RawMessage) string {
	t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		PubKeyCredParams []struct {
			Alg int `json:"alg"`
		} `json:"pubKeyCredParams"`
		AuthenticatorSelection struct {
			UserVerification string `json:"userVerification"`
			ResidentKey      string `json:"residentKey"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
		Timeout     int    `json:"timeout"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	if o.RP.ID != testRPID || len(o.PubKeyCredParams) != 1 || o.PubKeyCredParams[0].Alg != -7 ||
		o.AuthenticatorSelection.UserVerification != "required" || o.AuthenticatorSelection.ResidentKey != "preferred" ||
		o.Attestation != "none" || o.Timeout != 120000 {
		t.Fatalf("creation options %s", options)
	}
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := json.Marshal(map[string]any{"id": b64u.EncodeToString(a.credID), "rawId": b64u.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64u.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64u.EncodeToString(att)}})
	return string(cred)
}

// assert signs challenge: signature, authenticator data, client data.
func (a *softAuthenticator) assert(t *testing.T, challenge string) (string, string, string) {
	t.Helper()
	ad := a.authData(t, false)
	cd := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	sum := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	s, err := ecdsa.SignASN1(rand.Reader, a.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return b64u.EncodeToString(s), b64u.EncodeToString(ad), b64u.EncodeToString(cd)
}

// TestCitizenPasskeyDevice: a passkey registers with a "none" attestation
// made by a software authenticator; its COSE key becomes the JWK whose
// thumbprint is the key id; a login with the device enrols it, and the
// ledger lists it as a passkey enrolled with an ID token; its decision
// goes to the ledger with the assertion's fields, signed over the
// payload's challenge, and the ledger records the grant as made with the
// citizen verified.
func TestCitizenPasskeyDevice(t *testing.T) {
	h := newCitizenHarness(t)
	ref := h.refOf(applicant)
	h.seedAuthorization("auth-loan-1", applicant)
	w := h.as("", "POST", "/citizen/v1/devices", `{"kind":"webauthn","name":"我的手机"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("devices: %d %s", w.Code, w.Body)
	}
	nd := decodeBody[newDeviceResponse](t, w)
	if nd.KeyID != "" || len(nd.Options) == 0 || nd.DeviceSecret == "" {
		t.Fatalf("new device %s", w.Body)
	}
	a := newSoftAuthenticator(t)
	cred := a.create(t, nd.Options)
	path := "/citizen/v1/devices/" + nd.DeviceID
	if w := h.as("", "POST", path+"/credential", `{"credential":`+cred+`}`, "X-Device-Secret", "wrong"); w.Code != http.StatusNotFound {
		t.Fatalf("wrong secret: %d %s", w.Code, w.Body)
	}
	w = h.as("", "POST", path+"/credential", `{"credential":`+cred+`}`, "X-Device-Secret", nd.DeviceSecret)
	if w.Code != http.StatusOK {
		t.Fatalf("credential: %d %s", w.Code, w.Body)
	}
	cr := decodeBody[credentialResponse](t, w)
	if cr.KeyID != sig.Thumbprint(&a.key.PublicKey) || cr.CredentialID != b64u.EncodeToString(a.credID) {
		t.Fatalf("credential answer %+v", cr)
	}
	// The same credential again: the registration is over.
	if w := h.as("", "POST", path+"/credential", `{"credential":`+cred+`}`, "X-Device-Secret", nd.DeviceSecret); w.Code != http.StatusConflict {
		t.Fatalf("credential again: %d %s", w.Code, w.Body)
	}
	status := func() deviceView {
		w := h.as("", "GET", path, "", "X-Device-Secret", nd.DeviceSecret)
		if w.Code != http.StatusOK {
			t.Fatalf("status: %d %s", w.Code, w.Body)
		}
		return decodeBody[deviceView](t, w)
	}
	if s := status(); s.Status != deviceStatusPending || s.KeyID != cr.KeyID || s.Kind != model.KeyWebAuthn {
		t.Fatalf("status %+v", s)
	}
	frag := h.loginFlow("return_to=/app/&device_id=" + nd.DeviceID)
	ticket, ok := strings.CutPrefix(frag, "ticket=")
	if !ok {
		t.Fatalf("login: %s", frag)
	}
	s := h.session(ticket)
	if s.KeyID != cr.KeyID {
		t.Fatalf("session %+v", s)
	}
	if st := status(); st.Status != deviceStatusEnrolled || st.Ticket != "" {
		t.Fatalf("status after the login %+v", st)
	}
	w = h.as(s.Token, "GET", "/citizen/v1/keys", "")
	keys := decodeBody[keyList](t, w)
	if len(keys.Keys) != 1 || keys.Keys[0].KeyID != cr.KeyID {
		t.Fatalf("keys %s", w.Body)
	}
	// The kind and the proof are the ledger's record of the enrolment.
	if k := keys.Keys[0]; k.Kind != model.KeyWebAuthn || !k.UserVerifying || k.Proof != model.ProofIDToken || k.Status != model.StatusActive {
		t.Fatalf("keys %s", w.Body)
	}
	for _, req := range h.net.Requesters() {
		cit, err := h.net.Ledger("BureauMSP").GetCitizen(t.Context(), req, ref)
		if err != nil || len(cit.Keys) != 1 || cit.Keys[0].KeyID != cr.KeyID || cit.Keys[0].Kind != model.KeyWebAuthn ||
			cit.Keys[0].Proof != model.ProofIDToken {
			t.Fatalf("%s's collection: %+v, %v", req, cit, err)
		}
	}

	// A decision signed by the passkey: the payload's challenge, the
	// assertion's fields passed through.
	w = h.as(s.Token, "POST", "/citizen/v1/authorizations/auth-loan-1/payload", `{"action":"GRANT"}`)
	pr := decodeBody[payloadResponse](t, w)
	payload, _ := base64.StdEncoding.DecodeString(pr.Payload)
	sum := sha256.Sum256(payload)
	if pr.Challenge != b64u.EncodeToString(sum[:]) {
		t.Fatalf("challenge %q", pr.Challenge)
	}
	sg, ad, cd := a.assert(t, pr.Challenge)
	body, _ := json.Marshal(map[string]string{"payload": pr.Payload, "key_id": cr.KeyID, "signature": sg,
		"authenticator_data": ad, "client_data_json": cd})
	w = h.as(s.Token, "POST", "/citizen/v1/authorizations/auth-loan-1/decision", string(body))
	h.mu.Lock()
	decided := append([]model.DecisionInput(nil), h.decided...)
	h.mu.Unlock()
	if len(decided) != 1 || decided[0].AuthenticatorData != ad || decided[0].ClientDataJSON != cd || decided[0].Signature != sg || decided[0].KeyID != cr.KeyID {
		t.Fatalf("decision sent %+v", decided)
	}
	// The chaincode verifies the assertion against the policy's relying
	// party and records a grant the citizen verified.
	if w.Code != http.StatusOK || decodeBody[model.Authorization](t, w).Status != model.AuthGranted {
		t.Fatalf("decision: %d %s", w.Code, w.Body)
	}
	got, err := h.net.Ledger("AuditMSP").GetAuthorization(t.Context(), "auth-loan-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := got.LastDecision; got.Status != model.AuthGranted || d == nil || d.Action != model.ActionGrant || d.KeyID != cr.KeyID ||
		!d.UserVerified || d.AuthenticatorData != ad || d.ClientDataJSON != cd || d.Payload != pr.Payload {
		t.Fatalf("the ledger keeps %+v, decision %+v", got, got.LastDecision)
	}
}

// TestCitizenDeviceApproval: an enrolled device approves a new one; the
// approval is the canonical model.EnrolmentApproval, its challenge the
// SHA-256 of it, and the enrolment carries the signer as proof, which the
// ledger records. The new device then sees itself enrolled, with a
// ticket, once.
func TestCitizenDeviceApproval(t *testing.T) {
	h := newCitizenHarness(t)
	old, tok := h.enrol(applicant, "old phone")
	dev := newDeviceKey(t)
	w := h.as("", "POST", "/citizen/v1/devices", `{"kind":"webcrypto","name":"tablet","jwk":`+dev.jwk+`}`)
	nd := decodeBody[newDeviceResponse](t, w)
	path := "/citizen/v1/devices/" + nd.DeviceID
	w = h.as(tok, "GET", path+"/approval", "")
	if w.Code != http.StatusOK {
		t.Fatalf("approval: %d %s", w.Code, w.Body)
	}
	av := decodeBody[approvalView](t, w)
	raw, _ := b64u.DecodeString(av.Payload)
	var ap model.EnrolmentApproval
	if err := json.Unmarshal(raw, &ap); err != nil || ap.Type != model.EnrolApprovalType || ap.Channel != ledgertest.Channel ||
		ap.KeyID != dev.kid || ap.Name != "tablet" || av.Challenge != challengeOf(raw) {
		t.Fatalf("approval %+v %s", av, raw)
	}
	if canon, _ := json.Marshal(ap); string(canon) != string(raw) {
		t.Fatalf("approval bytes %s are not canonical %s", raw, canon)
	}
	h.mu.Lock()
	h.enrolments = nil
	h.mu.Unlock()
	sg := base64.StdEncoding.EncodeToString(old.signRaw(t, raw))
	body, _ := json.Marshal(map[string]any{"payload": av.Payload, "signer": map[string]string{"key_id": old.kid, "signature": sg}})
	w = h.as(tok, "POST", path+"/approval", string(body))
	if w.Code != http.StatusOK || decodeBody[approvedResponse](t, w).Proof != model.ProofDevice {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	h.mu.Lock()
	sent := h.enrolments
	h.mu.Unlock()
	if len(sent) == 0 || sent[0].Proof == nil || sent[0].Proof.Kind != model.ProofDevice || sent[0].Proof.Approval != av.Payload ||
		sent[0].Proof.Signer == nil || sent[0].Proof.Signer.KeyID != old.kid || sent[0].Proof.Signer.Signature != sg {
		t.Fatalf("enrolment %+v", sent)
	}
	st := decodeBody[deviceView](t, h.as("", "GET", path, "", "X-Device-Secret", nd.DeviceSecret))
	if st.Status != deviceStatusEnrolled || st.Ticket == "" {
		t.Fatalf("new device's status %+v", st)
	}
	s := h.session(st.Ticket)
	if s.KeyID != dev.kid || s.CitizenRef != h.refOf(applicant) {
		t.Fatalf("new device's session %+v", s)
	}
	w = h.as(s.Token, "GET", "/citizen/v1/keys", "")
	keys := decodeBody[keyList](t, w)
	if len(keys.Keys) != 2 {
		t.Fatalf("keys %s", w.Body)
	}
	for _, k := range keys.Keys {
		ok := k.KeyID == old.kid && k.Proof == model.ProofIDToken && k.ApprovedBy == "" ||
			k.KeyID == dev.kid && k.Proof == model.ProofDevice && k.ApprovedBy == old.kid
		if !ok || k.Kind != model.KeyWebCrypto || k.UserVerifying || k.Status != model.StatusActive {
			t.Fatalf("keys %s", w.Body)
		}
	}
	if again := decodeBody[deviceView](t, h.as("", "GET", path, "", "X-Device-Secret", nd.DeviceSecret)); again.Ticket != "" {
		t.Fatal("the ticket was shown twice")
	}
}

// TestAuthorizationSubject: a request carries the SubjectDigest of the
// requester, the pairwise citizenRef and the ID number.
func TestAuthorizationSubject(t *testing.T) {
	h := newHarness(t)
	h.net.ClearCalls()
	w := h.do("POST", "/v1/authorizations", validBody())
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	a := decodeBody[model.Authorization](t, w)
	want := model.SubjectDigest("BankMSP", a.CitizenRef, applicant)
	for _, c := range h.net.Calls() {
		if c.Name != "consent:RequestAuthorization" {
			continue
		}
		var req model.AuthorizationRequest
		if err := json.Unmarshal(c.Transient[model.TransientRequest], &req); err != nil || req.Subject != want {
			t.Fatalf("request %+v (%v), want subject %s", req, err, want)
		}
		return
	}
	t.Fatal("no consent:RequestAuthorization call")
}
