package contract_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/stubtest"
)

// faultyStub makes one kind of stub call fail, as a peer does when its
// ledger is unavailable, to show every transaction turns such a failure into
// an error (never a panic, never a partial write).
type faultyStub struct {
	*stubtest.Stub
	fail string
}

var errInjected = errors.New("injected ledger fault")

func (s *faultyStub) GetState(k string) ([]byte, error) {
	if s.fail == "GetState" {
		return nil, errInjected
	}
	return s.Stub.GetState(k)
}

func (s *faultyStub) PutState(k string, v []byte) error {
	if s.fail == "PutState" {
		return errInjected
	}
	return s.Stub.PutState(k, v)
}

func (s *faultyStub) SetEvent(name string, payload []byte) error {
	if s.fail == "SetEvent" {
		return errInjected
	}
	return s.Stub.SetEvent(name, payload)
}

func (s *faultyStub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	if s.fail == "GetTxTimestamp" {
		return nil, errInjected
	}
	return s.Stub.GetTxTimestamp()
}

func (s *faultyStub) GetStateByPartialCompositeKeyWithPagination(t string, k []string, n int32, b string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if s.fail == "Pagination" {
		return nil, nil, errInjected
	}
	return s.Stub.GetStateByPartialCompositeKeyWithPagination(t, k, n, b)
}

func (s *faultyStub) GetHistoryForKey(k string) (shim.HistoryQueryIteratorInterface, error) {
	if s.fail == "History" {
		return nil, errInjected
	}
	return s.Stub.GetHistoryForKey(k)
}

func TestLedgerFaults(t *testing.T) {
	e, phone := grantedEnv(t)
	p := e.payload("auth-1", model.ActionPause)
	encKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	calls := []struct {
		msp  string
		fn   string
		args []string
	}{
		{opMSP, "registry:RegisterInstitution", []string{mustJSON(institution("NewMSP", model.KindBank))}},
		{opMSP, "registry:SetInstitutionStatus", []string{bankMSP, model.StatusSuspended}},
		{bankMSP, "registry:SetEncryptionKey", []string{pkix(t, &encKey.PublicKey)}},
		{opMSP, "registry:RegisterCategory", []string{mustJSON(model.Category{Code: "tax2", NameZH: "x", NameEN: "x", ProviderMSP: opMSP})}},
		{opMSP, "registry:RegisterPurpose", []string{mustJSON(model.Purpose{Code: "P2", NameZH: "x", NameEN: "x",
			RequesterKinds: []model.InstitutionKind{model.KindBank}, AllowedCategories: []string{"tax"}, MaxValidityDays: 1, MaxUses: 1, MaxDataRangeDays: 1})}},
		{opMSP, "registry:AddCitizenKey", []string{bankMSP, citizenRef(5), newDevice(t).jwk}},
		{opMSP, "registry:RevokeCitizenKey", []string{bankMSP, citizenRef(1), phone.kid}},
		{auditMSP, "registry:GetConfig", nil},
		{auditMSP, "registry:GetInstitution", []string{bankMSP}},
		{auditMSP, "registry:GetCitizen", []string{bankMSP, citizenRef(1)}},
		{auditMSP, "registry:ListInstitutions", []string{"10", ""}},
		{auditMSP, "registry:History", []string{"auth", "auth-1"}},
		{bankMSP, "consent:RequestAuthorization", []string{mustJSON(lendingRequest("auth-9", citizenRef(1)))}},
		{opMSP, "consent:Decide", []string{"auth-1", b64std(p), phone.signRaw(t, p), phone.kid}},
		{bankMSP, "consent:Withdraw", []string{"auth-1"}},
		{auditMSP, "consent:GetAuthorization", []string{"auth-1"}},
		{auditMSP, "consent:ListAuthorizationsByCitizen", []string{bankMSP, citizenRef(1), "", "10", ""}},
		{opMSP, "anchor:AnchorRecord", []string{"tax", hash("f1")}},
		{opMSP, "anchor:AnchorBatch", []string{mustJSON(model.BatchAnchorRequest{BatchID: "b-f1", Category: "tax", Root: hash("r"), LeafCount: 2})}},
		{opMSP, "anchor:RevokeRecord", []string{"tax", hash("f1"), "WITHDRAWN"}},
		{auditMSP, "anchor:VerifyRecord", []string{hash("f1")}},
		{opMSP, "access:RecordAccess", []string{mustJSON(accessRequest("acc-f", "auth-1", bankMSP, "tax"))}},
		{auditMSP, "access:ListAccessesByRequester", []string{bankMSP, "", "", "10", ""}},
	}
	faults := []string{"GetState", "PutState", "SetEvent", "GetTxTimestamp", "Pagination", "History"}
	for _, c := range calls {
		// Each call succeeds without faults...
		if _, err := e.query(c.msp, c.fn, c.args...); err != nil {
			t.Fatalf("%s without a fault: %v", c.fn, err)
		}
		for _, f := range faults {
			t.Run(fmt.Sprintf("%s/%s", c.fn, f), func(t *testing.T) {
				e.seq++
				stub := &faultyStub{Stub: e.ledger.NewTx(fmt.Sprintf("f%05d", e.seq), e.now, e.ids[c.msp].Creator(), c.fn, c.args...), fail: f}
				resp := e.cc.Invoke(stub)
				if resp.GetStatus() == 200 && len(stub.WriteSet()) > 0 && (f == "PutState" || f == "SetEvent") {
					t.Fatalf("succeeded despite a failing %s", f)
				}
				if f == "GetState" && resp.GetStatus() == 200 && !strings.Contains(c.fn, "List") && c.fn != "registry:History" {
					t.Fatal("the transaction reads state, yet it succeeded with reads failing")
				}
				if resp.GetStatus() != 200 && resp.GetMessage() == "" {
					t.Fatalf("failed without a message")
				}
			})
		}
	}
}

// TestCorruptState: stored values that do not decode are errors, not panics.
func TestCorruptState(t *testing.T) {
	e, _ := grantedEnv(t)
	authKey := ""
	for _, k := range e.ledger.Keys() {
		if len(k) > 6 && k[1:5] == "auth" && k[5] == 0 {
			authKey = k
			break
		}
	}
	if authKey == "" {
		t.Fatal("no authorisation key found")
	}
	stub := e.ledger.NewTx("corrupt", e.now, e.ids[opMSP].Creator(), "x")
	if err := stub.PutState(authKey, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := stub.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, fn := range [][]string{
		{"consent:GetAuthorization", "auth-1"},
		{"consent:ListAuthorizationsByCitizen", bankMSP, citizenRef(1), "", "10", ""},
		{"access:RecordAccess", mustJSON(accessRequest("acc-c", "auth-1", bankMSP, "tax"))},
	} {
		if _, err := e.query(opMSP, fn[0], fn[1:]...); err == nil {
			t.Errorf("%s read a corrupt value without error", fn[0])
		}
	}
}
