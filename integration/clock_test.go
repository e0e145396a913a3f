package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/quanchain/quanchain/chaincode/model"
)

// forgedProposal is a proposal of the bank's User1 to its own peer, built
// by hand as any client may build one, with the timestamp it chooses.
func forgedProposal(t *testing.T, ts time.Time, fn string, transient map[string][]byte) *peer.SignedProposal {
	t.Helper()
	user := filepath.Join(testNet.StateDir(), "crypto", "peerOrganizations", "bank.quanchain.local", "users", "User1@bank.quanchain.local", "msp")
	certPEM, err := os.ReadFile(filepath.Join(user, "signcerts", "User1@bank.quanchain.local-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(user, "keystore", "priv_sk"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	creator := marshal(&msp.SerializedIdentity{Mspid: bank, IdBytes: certPEM})
	nonce := make([]byte, 24)
	_, _ = rand.Read(nonce)
	txID := sha256.Sum256(append(append([]byte(nil), nonce...), creator...))
	cc := &peer.ChaincodeID{Name: "quanchain"}
	header := &common.Header{
		ChannelHeader: marshal(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: "quanchain",
			TxId: hex.EncodeToString(txID[:]), Timestamp: timestamppb.New(ts), Extension: marshal(&peer.ChaincodeHeaderExtension{ChaincodeId: cc})}),
		SignatureHeader: marshal(&common.SignatureHeader{Creator: creator, Nonce: nonce}),
	}
	input := marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{Type: peer.ChaincodeSpec_GOLANG, ChaincodeId: cc,
		Input: &peer.ChaincodeInput{Args: [][]byte{[]byte(fn)}}}})
	proposal := marshal(&peer.Proposal{Header: marshal(header), Payload: marshal(&peer.ChaincodeProposalPayload{Input: input, TransientMap: transient})})
	digest := sha256.Sum256(proposal)
	sig, err := sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return &peer.SignedProposal{ProposalBytes: proposal, Signature: sig}
}

// TestForgedProposalTimeRefused: a bank client dates its proposal 40 days
// ahead, so that a 45-day validity looks like less than the purpose's
// 30-day ceiling; its own peer refuses to endorse it (the chaincode checks
// the timestamp against the peer's clock), while the same request dated
// now is endorsed — so the refusal is the timestamp's.
func TestForgedProposalTimeRefused(t *testing.T) {
	ctx := ctxFor(t)
	conn, err := testNet.Connection(ctx, bank)
	if err != nil {
		t.Fatal(err)
	}
	endorser := peer.NewEndorserClient(conn.ClientConn)
	req := lending(id("forged-time"), sha("forged-time citizen"))
	req.ValidUntil = time.Now().Add(45 * 24 * time.Hour).UTC().Format(time.RFC3339)
	transient := map[string][]byte{model.TransientRequest: []byte(mustJSON(req))}

	resp, err := endorser.ProcessProposal(ctx, forgedProposal(t, time.Now().Add(40*24*time.Hour), "consent:RequestAuthorization", transient))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetResponse().GetStatus() == 200 || !strings.Contains(resp.GetResponse().GetMessage(), string(model.CodeClockSkew)) {
		t.Fatalf("a proposal dated 40 days ahead: status %d %q", resp.GetResponse().GetStatus(), resp.GetResponse().GetMessage())
	}

	// Dated now, the same request meets the purpose's ceiling instead.
	resp, err = endorser.ProcessProposal(ctx, forgedProposal(t, time.Now(), "consent:RequestAuthorization", transient))
	if err != nil {
		t.Fatal(err)
	}
	if msg := resp.GetResponse().GetMessage(); !strings.Contains(msg, string(model.CodePurposeLimitExceeded)) {
		t.Fatalf("the request dated now: status %d %q", resp.GetResponse().GetStatus(), msg)
	}
}
