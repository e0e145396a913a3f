package contract_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/contract"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/chaincode/stubtest"
	"github.com/quanchain/quanchain/internal/identitytest"
)

const (
	channel    = "quanchain"
	opMSP      = "BureauMSP"
	bankMSP    = "BankMSP"
	insurerMSP = "InsurerMSP"
	auditMSP   = "AuditMSP"
	rogueMSP   = "RogueMSP"
	otherMSP   = "CourtMSP" // a second provider
)

// t0 is the transaction time the tests start at.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// testEnv drives the chaincode through the real contractapi dispatcher over
// an in-memory ledger.
type testEnv struct {
	t      *testing.T
	ledger *stubtest.Ledger
	cc     *contractapi.ContractChaincode
	ids    map[string]*stubtest.Identity
	now    time.Time
	seq    int
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with more options for contract.New.
func newEnvWith(t *testing.T, opts ...contract.Option) *testEnv {
	t.Helper()
	e := &testEnv{t: t, ledger: stubtest.NewLedger(channel), ids: map[string]*stubtest.Identity{}, now: t0}
	// The endorsing peer's clock is the test's: proposals are stamped e.now.
	cc, err := contract.New(append([]contract.Option{contract.WithClock(func() time.Time { return e.now }, 0)}, opts...)...)
	if err != nil {
		t.Fatalf("contract.New: %v", err)
	}
	e.cc = cc
	for _, msp := range []string{opMSP, bankMSP, insurerMSP, auditMSP, rogueMSP, otherMSP} {
		e.ids[msp] = stubtest.MustIdentity(msp, "client."+msp)
	}
	// The collections of the chaincode definition (network/fabnet).
	for _, req := range []string{bankMSP, insurerMSP} {
		e.ledger.DefineCollection(model.CollectionOf(req), opMSP, req, auditMSP)
	}
	return e
}

// proposal turns the arguments the tests give a transaction into the
// proposal a client sends: the private inputs of RequestAuthorization,
// Decide, RecordAccess and the key transactions go in the transient map.
//
//	consent:RequestAuthorization  requestJSON
//	consent:Decide                id payload signature keyID, or id inputJSON
//	access:RecordAccess           accessJSON
//	registry:AddCitizenKey        inputJSON, or requester citizenRef jwk [name]
//	                              (a WebCrypto key with an ID token proof,
//	                              see testEnv.proposal)
//	registry:RevokeCitizenKey     requester citizenRef keyID
func proposal(fn string, args []string) ([]string, map[string][]byte) {
	switch {
	case fn == "consent:RequestAuthorization" && len(args) == 1:
		return nil, map[string][]byte{model.TransientRequest: []byte(args[0])}
	case fn == "consent:Decide" && len(args) == 2:
		return args[:1], map[string][]byte{model.TransientDecision: []byte(args[1])}
	case fn == "consent:Decide" && len(args) == 4:
		in := model.DecisionInput{Payload: args[1], Signature: args[2], KeyID: args[3]}
		return args[:1], map[string][]byte{model.TransientDecision: []byte(mustJSON(in))}
	case fn == "access:RecordAccess" && len(args) == 1:
		return nil, map[string][]byte{model.TransientAccess: []byte(args[0])}
	case fn == "registry:AddCitizenKey" && len(args) == 1:
		return nil, map[string][]byte{model.TransientKey: []byte(args[0])}
	case fn == "registry:RevokeCitizenKey" && len(args) == 3:
		in := model.CitizenKeyInput{Requester: args[0], CitizenRef: args[1], KeyID: args[2]}
		return nil, map[string][]byte{model.TransientKey: []byte(mustJSON(in))}
	}
	return args, nil
}

// proposal is the package's proposal, where registry:AddCitizenKey with
// positional arguments enrols a WebCrypto key with an ID token of the
// test provider for the citizen idNumberFor(citizenRef), minted now.
func (e *testEnv) proposal(fn string, args []string) ([]string, map[string][]byte) {
	if fn != "registry:AddCitizenKey" || len(args) != 3 && len(args) != 4 {
		return proposal(fn, args)
	}
	in := model.CitizenKeyInput{Requester: args[0], CitizenRef: args[1], JWK: args[2], Kind: model.KeyWebCrypto}
	if len(args) == 4 {
		in.Name = args[3]
	}
	in.Proof = identitytest.IDTokenProof(e.idToken(idNumberFor(in.CitizenRef), keyIDOf(in.JWK), identitytest.Overrides{}))
	return nil, map[string][]byte{model.TransientKey: []byte(mustJSON(in))}
}

// call invokes fn as a client of msp and commits the transaction if the
// chaincode accepted it (as a peer commits an endorsed transaction).
func (e *testEnv) call(msp, fn string, args ...string) (string, error) {
	e.t.Helper()
	e.seq++
	args, tr := e.proposal(fn, args)
	stub := e.ledger.NewTx(fmt.Sprintf("tx%05d", e.seq), e.now, e.ids[msp].Creator(), fn, args...).WithTransient(tr)
	resp := e.cc.Invoke(stub)
	if resp.GetStatus() != 200 {
		return "", errors.New(resp.GetMessage())
	}
	if err := stub.Commit(); err != nil {
		e.t.Fatalf("commit %s: %v", fn, err)
	}
	return string(resp.GetPayload()), nil
}

// query evaluates fn as a client of msp without committing.
func (e *testEnv) query(msp, fn string, args ...string) (string, error) {
	e.t.Helper()
	e.seq++
	args, tr := e.proposal(fn, args)
	stub := e.ledger.NewTx(fmt.Sprintf("q%05d", e.seq), e.now, e.ids[msp].Creator(), fn, args...).WithTransient(tr)
	resp := e.cc.Invoke(stub)
	if resp.GetStatus() != 200 {
		return "", errors.New(resp.GetMessage())
	}
	return string(resp.GetPayload()), nil
}

func (e *testEnv) must(msp, fn string, args ...string) string {
	e.t.Helper()
	out, err := e.call(msp, fn, args...)
	if err != nil {
		e.t.Fatalf("%s by %s: %v", fn, msp, err)
	}
	return out
}

// wantCode asserts that err carries the chaincode error code want.
func wantCode(t *testing.T, err error, want model.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", want)
	}
	got, ok := model.ParseError(err.Error())
	if !ok {
		t.Fatalf("want error %s, got an error without a code: %v", want, err)
	}
	if got.Code != want {
		t.Fatalf("want error %s, got %s: %s", want, got.Code, got.Message)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding %T from %q: %v", v, s, err)
	}
	return v
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// citizenRef stands in for the operator's keyed hash of an ID number.
func citizenRef(n int) string { return hash(fmt.Sprintf("citizen-%d", n)) }

func institution(msp string, kind model.InstitutionKind) model.Institution {
	return model.Institution{MSPID: msp, Name: msp + " 机构", Kind: kind, Licence: "LIC-" + msp}
}

var demoCategories = []model.Category{
	{Code: "housing_fund", NameZH: "住房公积金", NameEN: "Housing fund", ProviderMSP: opMSP},
	{Code: "social_security", NameZH: "社会保险", NameEN: "Social security", ProviderMSP: opMSP},
	{Code: "tax", NameZH: "纳税", NameEN: "Tax", ProviderMSP: opMSP, SchemaVersion: 2, Fields: []model.CategoryField{
		{Name: "month", NameZH: "所属月份", NameEN: "Month"}, {Name: "income_fen", NameZH: "收入额", NameEN: "Income"}}},
	{Code: "medical_settlement", NameZH: "医疗结算", NameEN: "Medical settlement", ProviderMSP: opMSP, Sensitive: true},
	{Code: "death_registration", NameZH: "死亡登记", NameEN: "Death registration", ProviderMSP: opMSP, Sensitive: true},
	{Code: "court_judgement", NameZH: "法院判决", NameEN: "Court judgement", ProviderMSP: otherMSP},
}

var demoPurposes = []model.Purpose{
	{Code: "CREDIT_ASSESSMENT", NameZH: "贷款审批", NameEN: "Credit assessment",
		RequesterKinds: []model.InstitutionKind{model.KindBank}, AllowedCategories: []string{"housing_fund", "social_security", "tax", "court_judgement"},
		MaxValidityDays: 30, MaxUses: 3, MaxDataRangeDays: 730},
	{Code: "CLAIM_SETTLEMENT", NameZH: "保险理赔", NameEN: "Claim settlement",
		RequesterKinds: []model.InstitutionKind{model.KindInsurer}, AllowedCategories: []string{"medical_settlement", "death_registration"},
		MaxValidityDays: 14, MaxUses: 2, MaxDataRangeDays: 366, MayStore: true, DataLifeDays: 1825},
}

// bootstrap registers the operator, the other institutions, the demo
// categories and purposes, and puts the test provider's identity policy
// in force (plain WebCrypto keys allowed, as the tests' devices are).
func (e *testEnv) bootstrap() {
	e.t.Helper()
	e.must(opMSP, "registry:Bootstrap", mustJSON(institution(opMSP, model.KindProvider)))
	bank := institution(bankMSP, model.KindBank)
	bank.Contact = "0531-96588"
	e.must(opMSP, "registry:RegisterInstitution", mustJSON(bank))
	e.must(opMSP, "registry:RegisterInstitution", mustJSON(institution(insurerMSP, model.KindInsurer)))
	e.must(opMSP, "registry:RegisterInstitution", mustJSON(institution(auditMSP, model.KindAuditor)))
	e.must(opMSP, "registry:RegisterInstitution", mustJSON(institution(otherMSP, model.KindProvider)))
	for _, c := range demoCategories {
		e.must(opMSP, "registry:RegisterCategory", mustJSON(c))
	}
	for _, p := range demoPurposes {
		e.must(opMSP, "registry:RegisterPurpose", mustJSON(p))
	}
	e.setPolicy(testProvider(e.t).Policy(identitytest.RPID, []string{identitytest.Origin}, true))
}

// setPolicy has the operator propose p and the auditor approve it.
func (e *testEnv) setPolicy(p model.IdentityPolicy) {
	e.t.Helper()
	digest := e.must(opMSP, "registry:ProposeIdentityPolicy", mustJSON(p))
	e.must(auditMSP, "registry:ApproveIdentityPolicy", digest)
}

var (
	providerOnce sync.Once
	provider     *identitytest.Provider
)

// testProvider is the identity provider the tests' policy trusts; its
// RSA key is made once.
func testProvider(t *testing.T) *identitytest.Provider {
	t.Helper()
	providerOnce.Do(func() {
		p, err := identitytest.NewProvider("https://id.gov.test", "quanchain-gateway")
		if err != nil {
			t.Fatalf("provider: %v", err)
		}
		provider = p
	})
	return provider
}

// idToken mints an ID token of the test provider at e.now for idNumber,
// naming the key kid in its nonce.
func (e *testEnv) idToken(idNumber, kid string, o identitytest.Overrides) string {
	e.t.Helper()
	if o.Now.IsZero() {
		o.Now = e.now
	}
	tok, err := testProvider(e.t).MintIDToken(idNumber, model.EnrolmentNonce(kid, "salt"), identitytest.ACR, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// idNumberFor is the resident ID number of the test citizen citizenRef:
// 17 digits of its hash and a check digit.
func idNumberFor(citizenRef string) string {
	sum := sha256.Sum256([]byte("id:" + citizenRef))
	out := make([]byte, 18)
	for i := range out {
		out[i] = '0' + sum[i]%10
	}
	return string(out)
}

// subjectFor is the subject digest of citizenRef as requester knows it.
func subjectFor(requester, citizenRef string) string {
	return model.SubjectDigest(requester, citizenRef, idNumberFor(citizenRef))
}

// keyIDOf is the key id of a JWK, or "unparsable" if it does not parse.
func keyIDOf(jwk string) string {
	pub, err := sig.ParseJWK([]byte(jwk))
	if err != nil {
		return "unparsable"
	}
	return sig.Thumbprint(pub)
}

// device is a citizen's phone: an ES256 key pair.
type device struct {
	key  *ecdsa.PrivateKey
	jwk  string
	kid  string
	sigs map[string]string // the signature made of each message, so that runs repeat
}

func newDevice(t *testing.T) *device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, b64(raw[1:33]), b64(raw[33:]))
	return &device{key: k, jwk: jwk, sigs: map[string]string{}}
}

// signRaw signs msg as WebCrypto does: raw r‖s, 64 bytes, base64.
func (d *device) signRaw(t *testing.T, msg []byte) string {
	t.Helper()
	if s, ok := d.sigs[string(msg)]; ok {
		return s
	}
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, d.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	d.sigs[string(msg)] = base64.StdEncoding.EncodeToString(out)
	return d.sigs[string(msg)]
}

// signDER signs msg with an ASN.1 DER signature, base64url.
func (d *device) signDER(t *testing.T, msg []byte) string {
	t.Helper()
	sum := sha256.Sum256(msg)
	der, err := ecdsa.SignASN1(rand.Reader, d.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(der)
}

// enrol registers d for the citizen in every requester's collection, as
// the operator's gateway does, and remembers its key id.
func (e *testEnv) enrol(ref string, d *device) {
	e.t.Helper()
	for _, req := range []string{bankMSP, insurerMSP} {
		d.kid = e.must(opMSP, "registry:AddCitizenKey", req, ref, d.jwk)
	}
}

// request creates a PENDING authorisation from msp and returns it as the
// requester then reads it.
func (e *testEnv) request(msp string, req model.AuthorizationRequest) model.Authorization {
	e.t.Helper()
	if req.Subject == "" {
		req.Subject = subjectFor(msp, req.CitizenRef)
	}
	pub := decode[model.Authorization](e.t, e.must(msp, "consent:RequestAuthorization", mustJSON(req)))
	if pub.CitizenRef != "" || pub.PrivateHash == "" {
		e.t.Fatalf("RequestAuthorization answered more than the public record: %+v", pub)
	}
	return e.getAuth(req.ID)
}

func lendingRequest(id string, ref string) model.AuthorizationRequest {
	return model.AuthorizationRequest{
		ID: id, CitizenRef: ref, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"tax", "housing_fund"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: t0.Add(7 * 24 * time.Hour).Format(time.RFC3339), MaxUses: 2, ReferenceHash: hash("LOAN-2026-0001"),
		Subject: subjectFor(bankMSP, ref),
	}
}

func (e *testEnv) getAuth(id string) model.Authorization {
	e.t.Helper()
	out, err := e.query(auditMSP, "consent:GetAuthorization", id)
	if err != nil {
		e.t.Fatalf("GetAuthorization %s: %v", id, err)
	}
	return decode[model.Authorization](e.t, out)
}

// payload builds the bytes a device signs for action on the authorisation's
// current state.
func (e *testEnv) payload(id string, action model.Action) []byte {
	a := e.getAuth(id)
	return model.NewDecisionPayload(channel, &a, e.terms(&a), action, e.now).Bytes()
}

// terms reads the registry's terms of a as a device's payload names them.
func (e *testEnv) terms(a *model.Authorization) model.Terms {
	e.t.Helper()
	read := func(fn, id string) string {
		out, err := e.query(auditMSP, fn, id)
		if err != nil {
			e.t.Fatalf("%s %s: %v", fn, id, err)
		}
		return out
	}
	inst := decode[model.Institution](e.t, read("registry:GetInstitution", a.Requester))
	p := decode[model.Purpose](e.t, read("registry:GetPurpose", a.Purpose))
	cats := make([]*model.Category, len(a.Categories))
	for i, code := range a.Categories {
		c := decode[model.Category](e.t, read("registry:GetCategory", code))
		cats[i] = &c
	}
	return model.TermsOf(&inst, &p, cats)
}

// decide signs action with d and submits it through the operator.
func (e *testEnv) decide(id string, d *device, action model.Action) (string, error) {
	e.t.Helper()
	p := e.payload(id, action)
	return e.call(opMSP, "consent:Decide", id, base64.StdEncoding.EncodeToString(p), d.signRaw(e.t, p), d.kid)
}

func (e *testEnv) mustDecide(id string, d *device, action model.Action) model.Authorization {
	e.t.Helper()
	if _, err := e.decide(id, d, action); err != nil {
		e.t.Fatalf("%s %s: %v", action, id, err)
	}
	return e.getAuth(id)
}

func accessRequest(id, authID, requester string, cats ...string) model.AccessRequest {
	return model.AccessRequest{ID: id, AuthorizationID: authID, Requester: requester, Categories: cats,
		Mode: model.ModeRecords, Digest: hash("delivery-" + id), RecordCount: 12}
}

// lastEvent returns the event of the last committed transaction.
func (e *testEnv) lastEvent() model.Event {
	e.t.Helper()
	evs := e.ledger.Events()
	if len(evs) == 0 {
		e.t.Fatal("no chaincode event")
	}
	ev := evs[len(evs)-1]
	out := decode[model.Event](e.t, string(ev.GetPayload()))
	if out.Name != ev.GetEventName() {
		e.t.Fatalf("event name %q, payload name %q", ev.GetEventName(), out.Name)
	}
	return out
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
