package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

const (
	bureau  = "BureauMSP"
	bank    = "BankMSP"
	insurer = "InsurerMSP"
	audit   = "AuditMSP"
)

// The test citizens. Their ID numbers, names and phones are used off-ledger
// only; TestNoPersonalDataInBlocks checks that none of it reached a block.
var (
	zhang = newCitizen("370102199003071234", "张三丰", "13812345678")
	li    = newCitizen("37010219851224002X", "李四娘", "13987654321")
)

// registryTerms reads the registry's terms of a that a decision payload
// names (the requester's licence, the purpose's retention, the categories'
// schema versions), as the auditor reads them.
func registryTerms(t testing.TB, a *model.Authorization) model.Terms {
	t.Helper()
	inst := decode[model.Institution](t, as(t, audit).mustEvaluate("registry:GetInstitution", a.Requester))
	p := decode[model.Purpose](t, as(t, audit).mustEvaluate("registry:GetPurpose", a.Purpose))
	cats := make([]*model.Category, len(a.Categories))
	for i, code := range a.Categories {
		c := decode[model.Category](t, as(t, audit).mustEvaluate("registry:GetCategory", code))
		cats[i] = &c
	}
	return model.TermsOf(&inst, &p, cats)
}

// decide builds the payload for action on the authorisation's current
// state, signs it on the device and submits it through the operator.
func decide(t *testing.T, authID string, d *device, action model.Action) (model.Authorization, error) {
	t.Helper()
	a := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
	p := model.NewDecisionPayload("quanchain", &a, registryTerms(t, &a), action, time.Now()).Bytes()
	out, err := as(t, bureau).submit("consent:Decide", authID, base64.StdEncoding.EncodeToString(p), d.sign(t, p), d.kid)
	if err != nil {
		return model.Authorization{}, err
	}
	return decode[model.Authorization](t, out), nil
}

func lending(authID, ref string) model.AuthorizationRequest {
	return model.AuthorizationRequest{ID: authID, CitizenRef: ref, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "social_security", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 3,
		ReferenceHash: sha("LOAN-" + authID), Subject: subjectFor("BankMSP", ref)}
}

func delivery(accessID, authID, requester string, cats ...string) string {
	return mustJSON(model.AccessRequest{ID: accessID, AuthorizationID: authID, Requester: requester,
		Categories: cats, Mode: model.ModeRecords, Digest: sha("delivered " + accessID), RecordCount: 12})
}

// TestConsentLifecycle: request → grant (real ES256 key) → delivery →
// pause → refused → resume → delivery → revoke → refused, with the events
// each step emits.
func TestConsentLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := testNet.Connection(ctx, bank)
	if err != nil {
		t.Fatal(err)
	}
	events, err := conn.Network().ChaincodeEvents(ctx, conn.Chaincode)
	if err != nil {
		t.Fatal(err)
	}

	phone := newDevice(t)
	phone.kid = string(as(t, bureau).mustSubmit("registry:AddCitizenKey", zhang.ref, phone.jwk))
	authID := id("loan")

	a := decode[model.Authorization](t, as(t, bank).mustSubmit("consent:RequestAuthorization", mustJSON(lending(authID, zhang.ref))))
	if a.Status != model.AuthPending || a.Requester != bank {
		t.Fatalf("requested %+v", a)
	}
	if a, err = decide(t, authID, phone, model.ActionGrant); err != nil || a.Status != model.AuthGranted {
		t.Fatalf("grant: %+v %v", a, describe(err))
	}

	acc := decode[model.Access](t, as(t, bureau).mustSubmit("access:RecordAccess", delivery(id("acc1"), authID, bank, "housing_fund", "tax")))
	if acc.UseNumber != 1 || acc.CitizenRef != zhang.ref {
		t.Fatalf("access %+v", acc)
	}
	if _, err := decide(t, authID, phone, model.ActionPause); err != nil {
		t.Fatalf("pause: %v", describe(err))
	}
	_, err = as(t, bureau).submit("access:RecordAccess", delivery(id("acc2"), authID, bank, "tax"))
	wantCode(t, err, model.CodeAuthPaused)
	if _, err := decide(t, authID, phone, model.ActionResume); err != nil {
		t.Fatalf("resume: %v", describe(err))
	}
	as(t, bureau).mustSubmit("access:RecordAccess", delivery(id("acc3"), authID, bank, "social_security"))
	if a, err = decide(t, authID, phone, model.ActionRevoke); err != nil || a.Status != model.AuthRevoked {
		t.Fatalf("revoke: %+v %v", a, describe(err))
	}
	_, err = as(t, bureau).submit("access:RecordAccess", delivery(id("acc4"), authID, bank, "tax"))
	wantCode(t, err, model.CodeAuthRevoked)

	a = decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
	if a.Uses != 2 || a.Status != model.AuthRevoked || a.Seq != 4 {
		t.Fatalf("final state %+v", a)
	}
	page := decode[model.Page[model.Access]](t, as(t, audit).mustEvaluate("access:ListAccessesByAuthorization", authID, "10", ""))
	if len(page.Items) != 2 {
		t.Fatalf("accesses %+v", page.Items)
	}

	want := []string{model.EventAuthorizationRequested, model.EventAuthorizationGranted, model.EventAccessRecorded,
		model.EventAuthorizationPaused, model.EventAuthorizationResumed, model.EventAccessRecorded, model.EventAuthorizationRevoked}
	var got []string
	for len(got) < len(want) {
		select {
		case ev := <-events:
			e := decode[model.Event](t, ev.Payload)
			if e.AuthorizationID != authID {
				continue // another test's transaction
			}
			if e.Name != ev.EventName || e.TxID != ev.TransactionID {
				t.Fatalf("event %s/%s has payload %+v", ev.EventName, ev.TransactionID, e)
			}
			got = append(got, ev.EventName)
		case <-ctx.Done():
			t.Fatalf("events so far %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// TestSignatureRules: a replayed payload, another citizen's key and a
// revoked key are refused by the chaincode on the real network.
func TestSignatureRules(t *testing.T) {
	phone, stolen := newDevice(t), newDevice(t)
	phone.kid = string(as(t, bureau).mustSubmit("registry:AddCitizenKey", li.ref, phone.jwk))
	other := newCitizen("110101200001011237", "王五", "13700000000")
	stolen.kid = string(as(t, bureau).mustSubmit("registry:AddCitizenKey", other.ref, stolen.jwk))
	authID := id("sig")
	as(t, bank).mustSubmit("consent:RequestAuthorization", mustJSON(lending(authID, li.ref)))

	_, err := decide(t, authID, stolen, model.ActionGrant)
	wantCode(t, err, model.CodeKeyNotFound)

	a := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
	p := model.NewDecisionPayload("quanchain", &a, registryTerms(t, &a), model.ActionGrant, time.Now()).Bytes()
	sig := phone.sign(t, p)
	as(t, bureau).mustSubmit("consent:Decide", authID, base64.StdEncoding.EncodeToString(p), sig, phone.kid)
	_, err = as(t, bureau).submit("consent:Decide", authID, base64.StdEncoding.EncodeToString(p), sig, phone.kid)
	wantCode(t, err, model.CodePayloadMismatch)

	as(t, bureau).mustSubmit("registry:RevokeCitizenKey", li.ref, phone.kid)
	_, err = decide(t, authID, phone, model.ActionPause)
	wantCode(t, err, model.CodeKeyRevoked)
}

// TestMSPRules: what each organisation may not do, enforced by the
// chaincode whoever calls it.
func TestMSPRules(t *testing.T) {
	phone := newDevice(t)
	ref := newCitizen("370102197001010016", "赵六", "13600000000").ref
	phone.kid = string(as(t, bureau).mustSubmit("registry:AddCitizenKey", ref, phone.jwk))
	authID := id("msp")
	as(t, bank).mustSubmit("consent:RequestAuthorization", mustJSON(lending(authID, ref)))
	if _, err := decide(t, authID, phone, model.ActionGrant); err != nil {
		t.Fatal(describe(err))
	}
	tests := []struct {
		name string
		org  string
		fn   string
		args []string
		want model.Code
	}{
		{"the bank cannot anchor", bank, "anchor:AnchorRecord", []string{"tax", sha("x" + runID)}, model.CodeForbiddenMSP},
		{"the bank cannot record its own access", bank, "access:RecordAccess", []string{delivery(id("b1"), authID, bank, "tax")}, model.CodeForbiddenMSP},
		{"the insurer cannot use the bank's authorisation", bureau, "access:RecordAccess", []string{delivery(id("i1"), authID, insurer, "tax")}, model.CodeRequesterMismatch},
		{"the insurer cannot withdraw the bank's authorisation", insurer, "consent:Withdraw", []string{authID}, model.CodeForbiddenMSP},
		{"the insurer cannot request for lending", insurer, "consent:RequestAuthorization", []string{mustJSON(lending(id("i2"), ref))}, model.CodeForbiddenMSP},
		{"the auditor cannot register", audit, "registry:RegisterInstitution", []string{`{"msp_id":"EvilMSP","name":"x","kind":"bank","licence":"x"}`}, model.CodeForbiddenMSP},
		{"the auditor cannot anchor", audit, "anchor:AnchorRecord", []string{"tax", sha("y" + runID)}, model.CodeForbiddenMSP},
		{"the auditor cannot request", audit, "consent:RequestAuthorization", []string{mustJSON(lending(id("a1"), ref))}, model.CodeForbiddenMSP},
		{"the bank cannot decide for the citizen", bank, "consent:Decide", []string{authID, "e30", "AAAA", phone.kid}, model.CodeForbiddenMSP},
		{"the bank cannot enrol keys", bank, "registry:AddCitizenKey", []string{ref, newDevice(t).jwk}, model.CodeForbiddenMSP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := as(t, tc.org).submit(tc.fn, tc.args...)
			wantCode(t, err, tc.want)
		})
	}
	a := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", authID))
	if a.Uses != 0 || a.Status != model.AuthGranted {
		t.Fatalf("refused calls changed the authorisation: %+v", a)
	}
}

// TestMerkleBatch anchors a batch, verifies a proof through the chaincode
// and locally, and sees a revoked record fail.
func TestMerkleBatch(t *testing.T) {
	var leaves [][]byte
	for i := 0; i < 37; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf(`{"run":%q,"record":%d}`, runID, i)))
		leaves = append(leaves, sum[:])
	}
	tree := merkle.New(leaves)
	batchID := id("hf-batch")
	as(t, bureau).mustSubmit("anchor:AnchorBatch", mustJSON(model.BatchAnchorRequest{BatchID: batchID,
		Category: "housing_fund", Root: tree.Root().String(), LeafCount: len(leaves)}))
	_, err := as(t, bank).submit("anchor:AnchorBatch", mustJSON(model.BatchAnchorRequest{BatchID: id("bank-batch"),
		Category: "housing_fund", Root: tree.Root().String(), LeafCount: 1}))
	wantCode(t, err, model.CodeForbiddenMSP)

	proofReq := func(i uint64, record []byte) string {
		p, err := tree.Proof(i)
		if err != nil {
			t.Fatal(err)
		}
		hexes := make([]string, len(p))
		for j := range p {
			hexes[j] = p[j].String()
		}
		return mustJSON(model.ProofRequest{BatchID: batchID, RecordHash: fmt.Sprintf("%x", record), LeafIndex: i, Proof: hexes})
	}
	v := decode[model.Verification](t, as(t, insurer).mustEvaluate("anchor:VerifyProof", proofReq(21, leaves[21])))
	if !v.Valid || v.Batch == nil || v.Batch.Root != tree.Root().String() {
		t.Fatalf("verification %+v", v)
	}
	// The auditor recomputes the same result locally from the stored root.
	root, _ := merkle.ParseHash(v.Batch.Root)
	proof, _ := tree.Proof(21)
	if err := merkle.VerifyInclusion(leaves[21], 21, uint64(v.Batch.LeafCount), proof, root); err != nil {
		t.Fatalf("local verification: %v", err)
	}
	tampered := sha256.Sum256([]byte("tampered"))
	v = decode[model.Verification](t, as(t, insurer).mustEvaluate("anchor:VerifyProof", proofReq(21, tampered[:])))
	if v.Valid || v.Reason != string(model.CodeProofInvalid) {
		t.Fatalf("tampered record verified: %+v", v)
	}
	as(t, bureau).mustSubmit("anchor:RevokeRecord", "housing_fund", fmt.Sprintf("%x", leaves[21]), "SUPERSEDED")
	v = decode[model.Verification](t, as(t, insurer).mustEvaluate("anchor:VerifyProof", proofReq(21, leaves[21])))
	if v.Valid || !v.Revoked || v.Reason != string(model.CodeRecordRevoked) {
		t.Fatalf("revoked record %+v", v)
	}
}

// TestNoPersonalDataInBlocks reads every block of the channel from the
// auditor's peer and looks for the test citizens' ID numbers, names and
// phone numbers. It runs last (Go runs tests in source order).
func TestNoPersonalDataInBlocks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := testNet.Connection(ctx, audit)
	if err != nil {
		t.Fatal(err)
	}
	info, err := conn.ChainInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := conn.Network().BlockEvents(ctx, client.WithStartBlock(0))
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	for _, c := range []testCitizen{zhang, li} {
		secrets = append(secrets, []byte(c.IDNumber), []byte(c.Name), []byte(c.Phone))
	}
	for n := uint64(0); n < info.GetHeight(); n++ {
		select {
		case b := <-blocks:
			if b.GetHeader().GetNumber() != n {
				t.Fatalf("block %d arrived, want %d", b.GetHeader().GetNumber(), n)
			}
			raw, err := proto.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(raw, s) {
					t.Fatalf("block %d contains %q", n, s)
				}
			}
		case <-ctx.Done():
			t.Fatalf("read %d of %d blocks", n, info.GetHeight())
		}
	}
	t.Logf("scanned %d blocks", info.GetHeight())
}
