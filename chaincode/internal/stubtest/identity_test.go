package stubtest_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/chaincode/internal/stubtest"
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
			require.NoError(t, err)
			assert.Equal(t, tc.wantMSP, msp)
			ok, err := cid.HasOUValue(s, tc.wantOU)
			require.NoError(t, err)
			assert.True(t, ok)
			cert, err := cid.GetX509Certificate(s)
			require.NoError(t, err)
			assert.Equal(t, tc.id.Cert.Subject.CommonName, cert.Subject.CommonName)
			if tc.attr != "" {
				v, found, err := cid.GetAttributeValue(s, tc.attr)
				require.NoError(t, err)
				assert.True(t, found)
				assert.Equal(t, tc.want, v)
			}

			ctx, err := l.Context(s)
			require.NoError(t, err)
			got, err := ctx.GetClientIdentity().GetMSPID()
			require.NoError(t, err)
			assert.Equal(t, tc.wantMSP, got)
			assert.Same(t, s, ctx.GetStub())
		})
	}
}

func TestContextErrors(t *testing.T) {
	l := stubtest.NewLedger("ch")
	_, err := l.Context(l.NewTx("tx", t0, nil, "fn"))
	require.ErrorContains(t, err, "client identity")
	_, err = l.Context(stubtest.NewLedger("other").NewTx("tx", t0, stubtest.MustIdentity("A", "a").Creator(), "fn"))
	require.Error(t, err)
	_, err = stubtest.NewIdentity("", "x")
	require.Error(t, err)
}

func TestSignedProposal(t *testing.T) {
	id := stubtest.MustIdentity("BankMSP", "teller1")
	s := stubtest.NewLedger("ch").NewTx("tx", t0, id.Creator(), "Fn", "a").
		WithTransient(map[string][]byte{"secret": []byte("s")})
	sp, err := s.GetSignedProposal()
	require.NoError(t, err)
	var prop peer.Proposal
	require.NoError(t, proto.Unmarshal(sp.ProposalBytes, &prop))
	var hdr common.Header
	require.NoError(t, proto.Unmarshal(prop.Header, &hdr))
	var chdr common.ChannelHeader
	require.NoError(t, proto.Unmarshal(hdr.ChannelHeader, &chdr))
	assert.Equal(t, "ch", chdr.ChannelId)
	assert.Equal(t, "tx", chdr.TxId)
	assert.True(t, chdr.Timestamp.AsTime().Equal(t0))
	var shdr common.SignatureHeader
	require.NoError(t, proto.Unmarshal(hdr.SignatureHeader, &shdr))
	assert.Equal(t, id.Creator(), shdr.Creator)

	binding, err := s.GetBinding()
	require.NoError(t, err)
	want := sha256.Sum256(append(append(shdr.Nonce, shdr.Creator...), make([]byte, 8)...))
	assert.Equal(t, want[:], binding)

	var payload peer.ChaincodeProposalPayload
	require.NoError(t, proto.Unmarshal(prop.Payload, &payload))
	assert.Equal(t, []byte("s"), payload.TransientMap["secret"])
	tr, err := s.GetTransient()
	require.NoError(t, err)
	assert.Equal(t, []byte("s"), tr["secret"])
}

func TestTransientNeverOnLedger(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("tx", t0, nil, "fn").WithTransient(map[string][]byte{"k": []byte("TRANSIENT-SECRET")})
	require.NoError(t, s.PutState("k", []byte("v")))
	require.NoError(t, s.Commit())
	for _, b := range l.AllBytes() {
		assert.False(t, bytes.Contains(b, []byte("TRANSIENT-SECRET")))
	}
}

func TestStateValidationParameter(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "t1", func(s *stubtest.Stub) {
		require.NoError(t, s.PutState("k", []byte("v")))
		require.NoError(t, s.SetStateValidationParameter("k", []byte("policy")))
		require.NoError(t, s.SetStateValidationParameter("missing", []byte("policy")))
	})
	commit(t, l, "t2", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("v2"))) })
	s := l.NewTx("q", t0, nil, "fn")
	ep, err := s.GetStateValidationParameter("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("policy"), ep, "a value write keeps the key's policy")
	ep, err = s.GetStateValidationParameter("missing")
	require.NoError(t, err)
	assert.Nil(t, ep, "a policy on a key without value is dropped")
	assert.Equal(t, []string{"k"}, l.Keys())
}
