package stubtest_test

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

func TestIdentityWithCID(t *testing.T) {
	tests := []struct {
		name    string
		id      *stubtest.Identity
		wantMSP string
		wantOU  string
		attr    string
		want    string
	}{
		{name: "client", id: stubtest.MustIdentity("BankMSP", "teller1"), wantMSP: "BankMSP", wantOU: "client"},
		{name: "admin with attribute",
			id:      stubtest.MustIdentity("BureauMSP", "op", stubtest.WithOU("admin"), stubtest.WithAttributes(map[string]string{"role": "operator"})),
			wantMSP: "BureauMSP", wantOU: "admin", attr: "role", want: "operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := stubtest.NewLedger("ch")
			s := l.NewTx("tx", t0, tc.id.Creator(), "fn")
			msp, err := cid.GetMSPID(s)
			if err != nil {
				t.Fatalf("GetMSPID: %v", err)
			}
			if msp != tc.wantMSP {
				t.Errorf("msp = %v, want %v", msp, tc.wantMSP)
			}
			ok, err := cid.HasOUValue(s, tc.wantOU)
			if err != nil {
				t.Fatalf("HasOUValue: %v", err)
			}
			if !ok {
				t.Error("HasOUValue: ok = false, want true")
			}
			cert, err := cid.GetX509Certificate(s)
			if err != nil {
				t.Fatalf("GetX509Certificate: %v", err)
			}
			if cert.Subject.CommonName != tc.id.Cert.Subject.CommonName {
				t.Errorf("cert.Subject.CommonName = %v, want %v", cert.Subject.CommonName, tc.id.Cert.Subject.CommonName)
			}
			if tc.attr != "" {
				v, found, err := cid.GetAttributeValue(s, tc.attr)
				if err != nil {
					t.Fatalf("GetAttributeValue: %v", err)
				}
				if !found {
					t.Error("GetAttributeValue: found = false, want true")
				}
				if v != tc.want {
					t.Errorf("v = %v, want %v", v, tc.want)
				}
			}

			ctx, err := l.Context(s)
			if err != nil {
				t.Fatalf("Context: %v", err)
			}
			got, err := ctx.GetClientIdentity().GetMSPID()
			if err != nil {
				t.Fatalf("GetClientIdentity: %v", err)
			}
			if got != tc.wantMSP {
				t.Errorf("got = %v, want %v", got, tc.wantMSP)
			}
			if ctx.GetStub() != s {
				t.Error("the context holds another stub")
			}
		})
	}
}

func TestContextErrors(t *testing.T) {
	l := stubtest.NewLedger("ch")
	_, err := l.Context(l.NewTx("tx", t0, nil, "fn"))
	if err == nil || !strings.Contains(err.Error(), "client identity") {
		t.Fatalf("Context: %v, want an error containing %q", err, "client identity")
	}
	_, err = l.Context(stubtest.NewLedger("other").NewTx("tx", t0, stubtest.MustIdentity("A", "a").Creator(), "fn"))
	if err == nil {
		t.Fatal("Context: got no error")
	}
	_, err = stubtest.NewIdentity("", "x")
	if err == nil {
		t.Fatal("NewIdentity: got no error")
	}
}

func TestSignedProposal(t *testing.T) {
	id := stubtest.MustIdentity("BankMSP", "teller1")
	s := stubtest.NewLedger("ch").NewTx("tx", t0, id.Creator(), "Fn", "a").
		WithTransient(map[string][]byte{"secret": []byte("s")})
	sp, err := s.GetSignedProposal()
	if err != nil {
		t.Fatalf("GetSignedProposal: %v", err)
	}
	var prop peer.Proposal
	if err := proto.Unmarshal(sp.ProposalBytes, &prop); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	var hdr common.Header
	if err := proto.Unmarshal(prop.Header, &hdr); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	var chdr common.ChannelHeader
	if err := proto.Unmarshal(hdr.ChannelHeader, &chdr); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if chdr.ChannelId != "ch" {
		t.Errorf("chdr.ChannelId = %q, want %q", chdr.ChannelId, "ch")
	}
	if chdr.TxId != "tx" {
		t.Errorf("chdr.TxId = %q, want %q", chdr.TxId, "tx")
	}
	if !chdr.Timestamp.AsTime().Equal(t0) {
		t.Errorf("chdr.Timestamp.AsTime() = %v, want %v", chdr.Timestamp.AsTime(), t0)
	}
	var shdr common.SignatureHeader
	if err := proto.Unmarshal(hdr.SignatureHeader, &shdr); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if got, want := shdr.Creator, id.Creator(); !bytes.Equal(got, want) {
		t.Errorf("shdr.Creator = %q, want %q", got, want)
	}

	binding, err := s.GetBinding()
	if err != nil {
		t.Fatalf("GetBinding: %v", err)
	}
	want := sha256.Sum256(append(append(shdr.Nonce, shdr.Creator...), make([]byte, 8)...))
	if !bytes.Equal(binding, want[:]) {
		t.Errorf("binding = %q, want %q", binding, want[:])
	}

	var payload peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(prop.Payload, &payload); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !bytes.Equal(payload.TransientMap["secret"], []byte("s")) {
		t.Errorf(`payload.TransientMap["secret"] = %q, want %q`, payload.TransientMap["secret"], []byte("s"))
	}
	tr, err := s.GetTransient()
	if err != nil {
		t.Fatalf("GetTransient: %v", err)
	}
	if !bytes.Equal(tr["secret"], []byte("s")) {
		t.Errorf(`tr["secret"] = %q, want %q`, tr["secret"], []byte("s"))
	}
}

func TestTransientNeverOnLedger(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("tx", t0, nil, "fn").WithTransient(map[string][]byte{"k": []byte("TRANSIENT-SECRET")})
	if err := s.PutState("k", []byte("v")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for _, b := range l.AllBytes() {
		if bytes.Contains(b, []byte("TRANSIENT-SECRET")) {
			t.Error("the ledger holds the transient data")
		}
	}
}

func TestStateValidationParameter(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "t1", func(s *stubtest.Stub) error {
		if err := s.PutState("k", []byte("v")); err != nil {
			return err
		}
		if err := s.SetStateValidationParameter("k", []byte("policy")); err != nil {
			return err
		}
		return s.SetStateValidationParameter("missing", []byte("policy"))
	})
	commit(t, l, "t2", func(s *stubtest.Stub) error { return s.PutState("k", []byte("v2")) })
	s := l.NewTx("q", t0, nil, "fn")
	ep, err := s.GetStateValidationParameter("k")
	if err != nil {
		t.Fatalf("GetStateValidationParameter: %v", err)
	}
	if !bytes.Equal(ep, []byte("policy")) {
		t.Errorf("a value write keeps the key's policy: got %q, want %q", ep, []byte("policy"))
	}
	ep, err = s.GetStateValidationParameter("missing")
	if err != nil {
		t.Fatalf("GetStateValidationParameter: %v", err)
	}
	if ep != nil {
		t.Errorf("a policy on a key without value is dropped: ep = %v, want nil", ep)
	}
	if got := l.Keys(); !slices.Equal(got, []string{"k"}) {
		t.Errorf("l.Keys() = %v, want %v", got, []string{"k"})
	}
}
