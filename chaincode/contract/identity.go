package contract

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/idtoken"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/chaincode/webauthn"
)

// Citizen identity (docs/ledger.md, "Citizen identity"). The ledger
// trusts one identity provider and one WebAuthn relying party, named by
// the identity policy. Two organisations make a policy: the operator
// proposes it, the supervisor (an active auditor organisation) approves
// the same digest, and only then does it replace the one in force. So the
// operator, which submits every enrolment and every decision, cannot make
// the ledger accept ID tokens of a provider of its own.
//
// The policy names no citizen and is kept in the world state, where every
// member can read what it trusts.

// Identity policy limits.
const (
	maxPolicyInput         = 48 << 10 // the policy JSON, with its key set
	defaultTokenAgeSeconds = 600
	minTokenAgeSeconds     = 60
	maxTokenAgeSeconds     = 3600
	maxPolicyList          = 16 // acr_values, origins
)

const (
	policyActive  = "active"
	policyPending = "pending"
)

// ProposeIdentityPolicy proposes the identity policy policyJSON (a
// model.IdentityPolicy). It is kept as pending, under the hex SHA-256 of
// its stored JSON, which it returns, until the supervisor approves that
// digest; a later proposal replaces a pending one, never the policy in
// force. Operator only.
func (c *RegistryContract) ProposeIdentityPolicy(ctx contractapi.TransactionContextInterface, policyJSON string) (string, error) {
	msp, err := requireOperator(ctx)
	if err != nil {
		return "", err
	}
	var p model.IdentityPolicy
	if err := decodeStrictLimit(policyJSON, maxPolicyInput, &p); err != nil {
		return "", err
	}
	if err := validatePolicy(&p); err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encoding the policy: %w", err)
	}
	sum := sha256.Sum256(b)
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	rec := model.IdentityPolicyRecord{Policy: p, Digest: hex.EncodeToString(sum[:]), ProposedBy: msp,
		ProposedAt: model.FormatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putPolicy(ctx, policyPending, &rec); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventIdentityPolicyProposed, MSPID: msp, PolicyDigest: rec.Digest}); err != nil {
		return "", err
	}
	return rec.Digest, nil
}

// ApproveIdentityPolicy puts the pending identity policy whose digest is
// digest in force, in place of the one before. The supervisor only: an
// active auditor organisation, never the operator.
func (c *RegistryContract) ApproveIdentityPolicy(ctx contractapi.TransactionContextInterface, digest string) error {
	msp, err := requireSupervisor(ctx)
	if err != nil {
		return err
	}
	digest, err = normaliseHash("digest", digest)
	if err != nil {
		return err
	}
	pending, err := getPolicy(ctx, policyPending)
	if err != nil {
		return err
	}
	if pending == nil {
		return model.Errf(model.CodePolicyNotSet, "no identity policy awaits approval")
	}
	if pending.Digest != digest {
		return model.Errf(model.CodeInvalidArgument, "the identity policy awaiting approval has digest %s, not %s", pending.Digest, digest)
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	pending.ApprovedBy = msp
	pending.ApprovedAt = model.FormatTime(now)
	pending.Active = true
	pending.TxID = ctx.GetStub().GetTxID()
	if err := putPolicy(ctx, policyActive, pending); err != nil {
		return err
	}
	k, err := key(ctx, keyIdentityPolicy, policyPending)
	if err != nil {
		return err
	}
	if err := ctx.GetStub().DelState(k); err != nil {
		return fmt.Errorf("deleting state: %w", err)
	}
	return emit(ctx, model.Event{Name: model.EventIdentityPolicyApproved, MSPID: msp, PolicyDigest: digest})
}

// GetIdentityPolicy returns the identity policy in force and the one
// awaiting approval, each if any. Anyone may read them.
func (c *RegistryContract) GetIdentityPolicy(ctx contractapi.TransactionContextInterface) (string, error) {
	var st model.IdentityPolicyState
	var err error
	if st.Active, err = getPolicy(ctx, policyActive); err != nil {
		return "", err
	}
	if st.Pending, err = getPolicy(ctx, policyPending); err != nil {
		return "", err
	}
	return marshalString(st)
}

// requireSupervisor checks that the caller is an active auditor
// organisation other than the operator, and returns its MSP ID.
func requireSupervisor(ctx contractapi.TransactionContextInterface) (string, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return "", err
	}
	cfg, err := config.load(ctx, "")
	if err != nil {
		return "", err
	}
	if msp == cfg.OperatorMSP {
		return "", model.Errf(model.CodeForbiddenMSP, "the operator cannot approve its own proposal")
	}
	inst, err := institutions.load(ctx, msp)
	if model.CodeOf(err) == model.CodeInstitutionNotFound {
		return "", model.Errf(model.CodeForbiddenMSP, "%s is not a registered institution", msp)
	}
	if err != nil {
		return "", err
	}
	if inst.Kind != model.KindAuditor {
		return "", model.Errf(model.CodeForbiddenMSP, "%s is not the supervisor (an auditor organisation)", msp)
	}
	if inst.Status != model.StatusActive {
		return "", model.Errf(model.CodeInstitutionInactive, "institution %s is %s", msp, inst.Status)
	}
	return msp, nil
}

func getPolicy(ctx contractapi.TransactionContextInterface, which string) (*model.IdentityPolicyRecord, error) {
	k, err := key(ctx, keyIdentityPolicy, which)
	if err != nil {
		return nil, err
	}
	var rec model.IdentityPolicyRecord
	found, err := getJSON(ctx, k, &rec)
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

func putPolicy(ctx contractapi.TransactionContextInterface, which string, rec *model.IdentityPolicyRecord) error {
	k, err := key(ctx, keyIdentityPolicy, which)
	if err != nil {
		return err
	}
	return putJSON(ctx, k, rec)
}

// activePolicy returns the identity policy in force, or
// IDENTITY_POLICY_NOT_SET.
func activePolicy(ctx contractapi.TransactionContextInterface) (*model.IdentityPolicy, error) {
	rec, err := getPolicy(ctx, policyActive)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, model.Errf(model.CodePolicyNotSet, "no identity policy is in force: the operator proposes one, the supervisor approves it")
	}
	return &rec.Policy, nil
}

// validatePolicy checks a proposed policy and sets its defaults.
func validatePolicy(p *model.IdentityPolicy) error {
	bad := func(format string, args ...any) error { return model.Errf(model.CodeInvalidArgument, format, args...) }
	if err := checkIssuer(p.Issuer); err != nil {
		return err
	}
	if err := checkName("audience", p.Audience); err != nil {
		return err
	}
	if err := checkName("id_claim", p.IDClaim); err != nil {
		return err
	}
	if len(p.ACRValues) == 0 || len(p.ACRValues) > maxPolicyList {
		return bad("acr_values must list 1 to %d assurance levels", maxPolicyList)
	}
	for _, v := range p.ACRValues {
		if err := checkName("an acr value", v); err != nil {
			return err
		}
	}
	ks, err := idtoken.ParseJWKS([]byte(p.JWKS))
	if err != nil {
		return model.Errf(model.CodeInvalidKey, "jwks: %v", err)
	}
	if ks.Len() == 0 {
		return model.Errf(model.CodeInvalidKey, "jwks holds no key")
	}
	switch {
	case p.MaxTokenAgeSeconds == 0:
		p.MaxTokenAgeSeconds = defaultTokenAgeSeconds
	case p.MaxTokenAgeSeconds < minTokenAgeSeconds || p.MaxTokenAgeSeconds > maxTokenAgeSeconds:
		return bad("max_token_age_seconds must be %d to %d", minTokenAgeSeconds, maxTokenAgeSeconds)
	}
	if !validHostName(p.RPID) {
		return bad("rp_id %q is not a host name", p.RPID)
	}
	if len(p.Origins) == 0 || len(p.Origins) > maxPolicyList {
		return bad("origins must list 1 to %d origins", maxPolicyList)
	}
	for _, o := range p.Origins {
		if err := checkOrigin(o, p.RPID); err != nil {
			return err
		}
	}
	return nil
}

// checkIssuer accepts an https URL, or an http URL of a loopback host.
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(s) > 512 {
		return model.Errf(model.CodeInvalidArgument, "issuer must be an https URL without query or fragment")
	}
	if u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname()) {
		return nil
	}
	return model.Errf(model.CodeInvalidArgument, "issuer must be https (http only for a loopback host)")
}

// checkOrigin accepts scheme://host[:port] with https, or http for
// localhost and 127.0.0.1, whose host is rpID or one of its subdomains.
func checkOrigin(s, rpID string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return model.Errf(model.CodeInvalidArgument, "origin %q must be scheme://host[:port]", s)
	}
	host := u.Hostname()
	if !(u.Scheme == "https" || u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1")) {
		return model.Errf(model.CodeInvalidArgument, "origin %q must be https (http only for localhost)", s)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return model.Errf(model.CodeInvalidArgument, "origin %q is not rp_id %s or one of its subdomains", s, rpID)
	}
	return nil
}

func loopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// validHostName accepts a lower-case DNS name: dot-separated labels of
// letters, digits and inner hyphens.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// enrolment checks the proof of a new key kid for the citizen cz (its
// keys in the requester's collection) and returns the subject the key is
// enrolled for and, for a device approval, the approving key's id.
func enrolment(ctx contractapi.TransactionContextInterface, pol *model.IdentityPolicy, in *model.CitizenKeyInput,
	cz *model.Citizen, kid string, now time.Time) (subject, approvedBy string, err error) {
	switch in.Proof.Kind {
	case model.ProofIDToken:
		subject, err = idTokenSubject(pol, in, kid, now)
		return subject, "", err
	case model.ProofDevice:
		return deviceApproval(ctx, pol, in, cz, kid, now)
	}
	return "", "", model.Errf(model.CodeProofRequired, "proof kind must be %s or %s", model.ProofIDToken, model.ProofDevice)
}

// idTokenSubject verifies an ID token proof: signed by the policy's
// provider, fresh at now, its nonce naming the new key kid. Its messages
// name neither the token nor the ID number.
func idTokenSubject(pol *model.IdentityPolicy, in *model.CitizenKeyInput, kid string, now time.Time) (string, error) {
	ks, err := idtoken.ParseJWKS([]byte(pol.JWKS))
	if err != nil {
		return "", model.Errf(model.CodeInternal, "the identity policy's key set does not parse")
	}
	claims, err := idtoken.Verify(in.Proof.IDToken, ks)
	if err != nil {
		return "", model.Errf(model.CodeIDTokenInvalid, "the ID token is refused: %s", idTokenReason(err))
	}
	id, err := claims.Check(idtoken.Expect{
		Issuer: pol.Issuer, Audience: pol.Audience, Now: now,
		MaxAge:    time.Duration(pol.MaxTokenAgeSeconds) * time.Second,
		Nonce:     func(n string) bool { k, ok := model.EnrolmentNonceKey(n); return ok && k == kid },
		ACRValues: pol.ACRValues, IDClaim: pol.IDClaim,
	})
	if err != nil {
		return "", model.Errf(model.CodeIDTokenInvalid, "the ID token is refused: %s", idTokenReason(err))
	}
	return model.SubjectDigest(in.Requester, in.CitizenRef, id), nil
}

// idTokenReason is a fixed phrase for an idtoken error: the chaincode's
// message is built from constants only, whatever the token held.
func idTokenReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{idtoken.ErrIssuer, "not issued by the trusted provider"},
		{idtoken.ErrAudience, "not issued to the operator's gateway"},
		{idtoken.ErrExpired, "expired"},
		{idtoken.ErrIssuedAt, "too old, or issued in the future"},
		{idtoken.ErrNonce, "its nonce does not name this key"},
		{idtoken.ErrACR, "its assurance level is not accepted"},
		{idtoken.ErrIDNumber, "it carries no valid resident ID number"},
		{idtoken.ErrUnknownKey, "signed with a key the provider does not publish"},
		{idtoken.ErrSignature, "its signature does not verify"},
		{idtoken.ErrAlgorithm, "its algorithm or header is refused"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "malformed"
}

// deviceApproval verifies a device proof: an approval of this key on this
// channel, fresh at now, signed by an active key of the same citizen
// record. The new key takes the approver's subject.
func deviceApproval(ctx contractapi.TransactionContextInterface, pol *model.IdentityPolicy, in *model.CitizenKeyInput,
	cz *model.Citizen, kid string, now time.Time) (string, string, error) {
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", model.Errf(model.CodeApprovalInvalid, format, args...)
	}
	raw, err := sig.DecodeBase64(in.Proof.Approval)
	if err != nil || len(raw) > maxJSONInput {
		return bad("approval must be base64url of the approval's bytes")
	}
	var a model.EnrolmentApproval
	if err := decodeStrict(string(raw), &a); err != nil {
		return bad("approval is not an enrolment approval")
	}
	if again, err := json.Marshal(a); err != nil || !bytes.Equal(again, raw) {
		return bad("approval is not in its canonical form")
	}
	if a.Type != model.EnrolApprovalType || a.Channel != ctx.GetStub().GetChannelID() {
		return bad("approval is not a %s approval for this channel", model.EnrolApprovalType)
	}
	if a.KeyID != kid || a.Name != in.Name {
		return bad("approval names another key or device name")
	}
	at, err := time.Parse(time.RFC3339Nano, a.IssuedAt)
	if err != nil {
		return bad("issued_at must be an RFC 3339 time")
	}
	if at.Before(now.Add(-model.EnrolApprovalMaxAgeSeconds*time.Second)) || at.After(now.Add(model.EnrolApprovalMaxSkewSeconds*time.Second)) {
		return bad("approval was issued at %s, outside [-%ds, +%ds] of the transaction", model.FormatTime(at),
			model.EnrolApprovalMaxAgeSeconds, model.EnrolApprovalMaxSkewSeconds)
	}
	s := in.Proof.Signer
	if s == nil {
		return bad("approval has no signer")
	}
	var approver *model.DeviceKey
	if cz != nil {
		if dk, found, active := cz.ActiveKey(s.KeyID); found && active {
			approver = &dk
		}
	}
	if approver == nil {
		return bad("approving key %q is not an active key of this citizen", s.KeyID)
	}
	if _, err := deviceSignature(approver, pol, *s, raw, model.CodeApprovalInvalid); err != nil {
		return "", "", err
	}
	return approver.Subject, approver.KeyID, nil
}

// deviceSignature checks a signature s by the device key dk over msg, by
// the key's kind: a passkey's WebAuthn assertion, with user verification,
// whose challenge is SHA-256(msg); a WebCrypto key's raw ES256 signature,
// only while the policy allows unverified keys. A WebCrypto signature that
// does not verify is refused with failCode. It returns whether the device
// verified the user.
func deviceSignature(dk *model.DeviceKey, pol *model.IdentityPolicy, s model.Signature, msg []byte, failCode model.Code) (bool, error) {
	pub, err := sig.ParseJWK([]byte(dk.JWK))
	if err != nil {
		return false, model.Errf(model.CodeInternal, "stored key %s cannot be parsed", dk.KeyID)
	}
	sigBytes, err := sig.DecodeBase64(s.Signature)
	if err != nil {
		return false, model.Errf(failCode, "signature must be base64")
	}
	if dk.Kind == model.KeyWebAuthn {
		return true, verifyAssertion(pub, pol, s, msg, sigBytes)
	}
	if !pol.AllowUnverifiedKeys {
		return false, model.Errf(model.CodeUserVerification, "key %s is a WebCrypto key without user verification, which the identity policy does not accept", dk.KeyID)
	}
	if s.AuthenticatorData != "" || s.ClientDataJSON != "" {
		return false, model.Errf(model.CodeAssertionInvalid, "key %s is a WebCrypto key and makes no assertions", dk.KeyID)
	}
	if err := sig.Verify(pub, msg, sigBytes); err != nil {
		return false, model.Errf(failCode, "signature does not verify with key %s", dk.KeyID)
	}
	return false, nil
}

// verifyAssertion checks a passkey's assertion over msg against the
// policy's relying party, with user verification required.
func verifyAssertion(pub *ecdsa.PublicKey, pol *model.IdentityPolicy, s model.Signature, msg, sigBytes []byte) error {
	if s.AuthenticatorData == "" || s.ClientDataJSON == "" {
		return model.Errf(model.CodeAssertionInvalid, "key %s is a passkey: authenticator_data and client_data_json are required", s.KeyID)
	}
	ad, err1 := sig.DecodeBase64(s.AuthenticatorData)
	cd, err2 := sig.DecodeBase64(s.ClientDataJSON)
	if err1 != nil || err2 != nil {
		return model.Errf(model.CodeAssertionInvalid, "authenticator_data and client_data_json must be base64url")
	}
	challenge := sha256.Sum256(msg)
	_, err := webauthn.Verify(pub, ad, cd, sigBytes, webauthn.Expect{RPID: pol.RPID, Origins: pol.Origins,
		Challenge: challenge[:], RequireUV: true})
	switch {
	case errors.Is(err, webauthn.ErrUserVerification):
		return model.Errf(model.CodeUserVerification, "the passkey did not verify the citizen (no UV flag)")
	case err != nil:
		return model.Errf(model.CodeAssertionInvalid, "the assertion of key %s is refused: %v", s.KeyID, err)
	}
	return nil
}
