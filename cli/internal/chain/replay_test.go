package chain_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
)

// replayOf verifies blocks with the replay and returns the report.
func replayOf(t *testing.T, blocks []*common.Block, from uint64) *chain.Report {
	t.Helper()
	rep, err := chain.Verify(context.Background(), []chain.Source{memSource{name: "AuditMSP", blocks: blocks}},
		chain.Options{From: from, To: uint64(len(blocks) - 1), Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestReplayRealFabricBlocks replays what a Fabric 2.5 network wrote: the
// orderer's signatures, the approvals endorsed under each organisation's
// implicit collection policy, the definition's commit under
// LifecycleEndorsement, and a call endorsed under the policy the
// definition set, read back from the _lifecycle writes.
func TestReplayRealFabricBlocks(t *testing.T) {
	s, err := chain.OpenBlockStore(realStore)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := chain.Verify(context.Background(), []chain.Source{s}, chain.Options{To: 3, Replay: true})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v %v", rep, rep.Failure, err)
	}
	if rep.LastSigned == nil || rep.LastSigned.Block != 3 || len(rep.LastSigned.Signers) != 1 ||
		!strings.HasPrefix(rep.LastSigned.Signers[0], "OrdererMSP (orderer") {
		t.Errorf("last signed %+v", rep.LastSigned)
	}
	want := "chaincode quanchain: endorsement policy AND('BureauMSP.peer', OR('BankMSP.peer', 'InsurerMSP.peer')) (block 2)"
	if len(rep.Notes) != 1 || rep.Notes[0] != want {
		t.Errorf("notes %q", rep.Notes)
	}

	var blocks []*common.Block
	for n := uint64(0); n < 4; n++ {
		b, _ := s.Block(context.Background(), n)
		blocks = append(blocks, b)
	}
	t.Run("an approval's flag flipped", func(t *testing.T) {
		forged := clone(blocks)
		forged[1].Metadata.Metadata[2][2] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
		rep := replayOf(t, forged, 0)
		if f := rep.Failure; rep.OK || f.Block != 1 || *f.TxIndex != 2 || f.Check != chain.CheckMVCC {
			t.Fatalf("failure %v", rep.Failure)
		}
	})
	t.Run("the last block rewritten with its data hash", func(t *testing.T) {
		forged := clone(blocks)
		forged[3].Data.Data[0][300] ^= 1
		forged[3].Header.DataHash = chain.DataHash(forged[3].Data)
		rep := replayOf(t, forged, 0)
		if f := rep.Failure; rep.OK || f.Block != 3 || f.Check != chain.CheckOrdererSignature || !strings.Contains(f.Got, "does not verify") {
			t.Fatalf("failure %v", rep.Failure)
		}
	})
}

// key is a composite key of the test chaincode.
const key = "\x00anchor\x00a\x00"

func update(n *ledgertest.Network, read *ledgertest.Version, code peer.TxValidationCode) ledgertest.SignedTx {
	tx := n.AnchorTx(key)
	tx.Reads[0].Version = read
	tx.Code = code
	return tx
}

func TestReplay(t *testing.T) {
	n := ledgertest.Net()
	def := []ledgertest.SignedTx{n.Define(ledgertest.Chaincode, ledgertest.EndorsementPolicy())}
	tests := []struct {
		name   string
		blocks func() []*common.Block
		block  uint64
		tx     int // -1: a block's check
		check  chain.Check
		got    string
	}{
		{name: "reads and writes in order, a real conflict flagged", blocks: func() []*common.Block {
			return n.Chain(def, []ledgertest.SignedTx{n.AnchorTx(key)},
				[]ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 2}, 0), update(n, &ledgertest.Version{Block: 2}, peer.TxValidationCode_MVCC_READ_CONFLICT)},
				[]ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 3}, 0)})
		}},
		{name: "the later of two conflicting writes flagged VALID", blocks: func() []*common.Block {
			return n.Chain(def, []ledgertest.SignedTx{n.AnchorTx(key)},
				[]ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 2}, 0), update(n, &ledgertest.Version{Block: 2}, 0)})
		}, block: 3, tx: 1, check: chain.CheckMVCC, got: "read at (block 2, tx 0), but the committed version is (block 3, tx 0)"},
		{name: "a read of a key that does not exist", blocks: func() []*common.Block {
			return n.Chain(def, []ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 1}, 0)})
		}, block: 2, tx: 0, check: chain.CheckMVCC, got: "but it does not exist"},
		{name: "an invalid transaction's writes are not applied", blocks: func() []*common.Block {
			return n.Chain(def, []ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 1}, peer.TxValidationCode_MVCC_READ_CONFLICT)},
				[]ledgertest.SignedTx{update(n, &ledgertest.Version{Block: 2}, 0)})
		}, block: 3, tx: 0, check: chain.CheckMVCC, got: "but it does not exist"},
		{name: "endorsed by the bank alone", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers = []*ledgertest.Signer{n.Peer("BankMSP")}
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckEndorsementPolicy, got: "do not satisfy chaincode quanchain's endorsement policy AND('BureauMSP.peer', OR('BankMSP.peer', 'InsurerMSP.peer')) (defined in block 1)"},
		{name: "endorsed by the bank alone and flagged so", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers, tx.Code = []*ledgertest.Signer{n.Peer("BankMSP")}, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}},
		{name: "endorsed by a client, not a peer", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers = []*ledgertest.Signer{n.Client("BureauMSP"), n.Peer("BankMSP")}
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckEndorsementPolicy},
		{name: "an impostor's endorsement is dropped", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers = []*ledgertest.Signer{n.Impostor("BureauMSP", "peer"), n.Peer("BankMSP")}
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckEndorsementPolicy, got: "does not chain to MSP BureauMSP's CAs"},
		{name: "an extra endorsement that does not check", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers = append(tx.Endorsers, n.Impostor("InsurerMSP", "peer"))
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckEndorsementSignature, got: "InsurerMSP (impostor): certificate does not chain"},
		{name: "the operator's peer endorsing twice", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Endorsers = []*ledgertest.Signer{n.Peer("BureauMSP"), n.Peer("BureauMSP")}
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckEndorsementPolicy, got: "the endorsements (BureauMSP (peer0.bureaumsp)) do not satisfy"},
		{name: "a creator outside its MSP", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Creator = n.Impostor("BankMSP", "client")
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckCreatorSignature, got: "BankMSP (impostor): certificate does not chain to MSP BankMSP's CAs"},
		{name: "a creator outside its MSP, flagged so", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Creator, tx.Code = n.Impostor("BankMSP", "client"), peer.TxValidationCode_BAD_CREATOR_SIGNATURE
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}},
		{name: "a valid transaction flagged BAD_CREATOR_SIGNATURE", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Code = peer.TxValidationCode_BAD_CREATOR_SIGNATURE
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckValidationCode, got: "VALID"},
		{name: "an impostor creator flagged MVCC_READ_CONFLICT", blocks: func() []*common.Block {
			tx := n.AnchorTx(key)
			tx.Creator, tx.Code = n.Impostor("BankMSP", "client"), peer.TxValidationCode_MVCC_READ_CONFLICT
			return n.Chain(def, []ledgertest.SignedTx{tx})
		}, block: 2, tx: 0, check: chain.CheckValidationCode, got: "BAD_CREATOR_SIGNATURE: BankMSP (impostor)"},
		{name: "no definition for the chaincode", blocks: func() []*common.Block {
			return n.Chain([]ledgertest.SignedTx{n.AnchorTx(key)})
		}, block: 1, tx: 0, check: chain.CheckEndorsementPolicy, got: "chaincode quanchain has no committed definition"},
		{name: "a definition without enough lifecycle endorsements", blocks: func() []*common.Block {
			tx := def[0]
			tx.Endorsers = tx.Endorsers[:2]
			return n.Chain([]ledgertest.SignedTx{tx})
		}, block: 1, tx: 0, check: chain.CheckEndorsementPolicy, got: "/Channel/Application/LifecycleEndorsement"},
		{name: "a block signed by an impostor orderer", blocks: func() []*common.Block {
			blocks := n.Chain(def)
			other := ledgertest.NewNetwork()
			other.Sign(blocks[1])
			return blocks
		}, block: 1, tx: -1, check: chain.CheckOrdererSignature, got: "certificate does not chain to MSP OrdererMSP's CAs"},
		{name: "an unsigned block", blocks: func() []*common.Block {
			blocks := n.Chain(def)
			blocks[1].Metadata.Metadata[common.BlockMetadataIndex_SIGNATURES] = nil
			return blocks
		}, block: 1, tx: -1, check: chain.CheckOrdererSignature, got: "no signature metadata"},
		{name: "a duplicate transaction", blocks: func() []*common.Block {
			blocks := n.Chain(def, []ledgertest.SignedTx{n.AnchorTx(key)})
			b := blocks[2]
			b.Data.Data = append(b.Data.Data, b.Data.Data[0])
			b.Metadata.Metadata[2] = []byte{0, 0}
			b.Header.DataHash = chain.DataHash(b.Data)
			n.Sign(b)
			return blocks
		}, block: 2, tx: 1, check: chain.CheckTxID, got: "was already used in block 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blocks := tc.blocks()
			rep := replayOf(t, blocks, 0)
			if tc.check == "" {
				if !rep.OK {
					t.Fatalf("want OK, got %v", rep.Failure)
				}
				if rep.LastSigned == nil || rep.LastSigned.Block != uint64(len(blocks)-1) {
					t.Errorf("last signed %+v", rep.LastSigned)
				}
				return
			}
			f := rep.Failure
			if rep.OK || f.Check != tc.check || f.Block != tc.block {
				t.Fatalf("failure %v; want %s at block %d", f, tc.check, tc.block)
			}
			if (tc.tx < 0) != (f.TxIndex == nil) || (f.TxIndex != nil && *f.TxIndex != tc.tx) {
				t.Fatalf("failure %v; want transaction %d", f, tc.tx)
			}
			if f.TxIndex != nil && len(f.TxID) != 64 {
				t.Errorf("transaction id %q", f.TxID)
			}
			if !strings.Contains(f.Got, tc.got) {
				t.Errorf("got %q, want it to mention %q", f.Got, tc.got)
			}
		})
	}
}

func TestReplayRevokedCertificate(t *testing.T) {
	n := ledgertest.NewNetwork()
	n.Revoke(n.Peer("BankMSP"))
	def := n.Define(ledgertest.Chaincode, ledgertest.EndorsementPolicy())
	blocks := n.Chain([]ledgertest.SignedTx{def})
	if rep := replayOf(t, blocks, 0); rep.OK || !strings.Contains(rep.Failure.Got, "do not satisfy /Channel/Application/LifecycleEndorsement") {
		t.Fatalf("definition endorsed by a revoked peer among three: %v", rep.Failure)
	}
	def.Endorsers = []*ledgertest.Signer{n.Peer("BureauMSP"), n.Peer("InsurerMSP"), n.Peer("AuditMSP")}
	tx := n.AnchorTx(key)
	blocks = n.Chain([]ledgertest.SignedTx{def}, []ledgertest.SignedTx{tx})
	rep := replayOf(t, blocks, 0)
	if f := rep.Failure; rep.OK || f.Block != 2 || f.Check != chain.CheckEndorsementPolicy || !strings.Contains(f.Got, "is revoked by MSP BankMSP") {
		t.Fatalf("failure %v", rep.Failure)
	}
	// The insurer's peer, not revoked, endorses in the bank's stead.
	tx.Endorsers = []*ledgertest.Signer{n.Peer("BureauMSP"), n.Peer("InsurerMSP")}
	blocks = n.Chain([]ledgertest.SignedTx{def}, []ledgertest.SignedTx{tx})
	if rep := replayOf(t, blocks, 0); !rep.OK {
		t.Fatalf("failure %v", rep.Failure)
	}
}

func TestReplayTakesFlagsItDoesNotDerive(t *testing.T) {
	n := ledgertest.Net()
	tx := n.AnchorTx(key)
	tx.Code = peer.TxValidationCode_PHANTOM_READ_CONFLICT
	blocks := n.Chain([]ledgertest.SignedTx{n.Define(ledgertest.Chaincode, ledgertest.EndorsementPolicy())}, []ledgertest.SignedTx{tx},
		[]ledgertest.SignedTx{n.AnchorTx(key)}) // reads the key as absent: the flagged write was not applied
	rep := replayOf(t, blocks, 0)
	if !rep.OK || !strings.Contains(strings.Join(rep.Notes, "\n"), "1 invalid transaction(s) flagged with a code the replay does not re-derive") {
		t.Fatalf("report %+v %v", rep, rep.Failure)
	}
}

func TestReplayFollowsConfigBlocks(t *testing.T) {
	n, next := ledgertest.Net(), ledgertest.NewNetwork()
	blocks := n.Chain([]ledgertest.SignedTx{n.Define(ledgertest.Chaincode, ledgertest.EndorsementPolicy())})
	blocks = append(blocks, n.ConfigBlock(2, blocks[1], next))
	// From block 3 on, the new orderer signs and the new CAs issue.
	blocks = append(blocks, next.Block(3, blocks[2], next.AnchorTx(key)))
	if rep := replayOf(t, blocks, 0); !rep.OK {
		t.Fatalf("new configuration not followed: %v", rep.Failure)
	}
	if rep := replayOf(t, blocks, 3); !rep.OK || rep.Blocks != 1 {
		t.Fatalf("from block 3: %+v %v", rep, rep.Failure)
	}

	old := clone(blocks)
	old[3] = n.Block(3, blocks[2], n.AnchorTx(key))
	rep := replayOf(t, old, 0)
	if f := rep.Failure; rep.OK || f.Block != 3 || f.Check != chain.CheckOrdererSignature || !strings.Contains(f.Expected, "configuration from block 2") {
		t.Fatalf("the replaced orderer still accepted: %v", rep.Failure)
	}
}

func TestReplayFromChecksTheBlocksBefore(t *testing.T) {
	n := ledgertest.Net()
	blocks := n.SignedChain(6)
	blocks[2].Metadata.Metadata[2][0] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
	rep := replayOf(t, blocks, 4)
	if f := rep.Failure; rep.OK || f.Block != 2 || f.Check != chain.CheckMVCC {
		t.Fatalf("failure %v", rep.Failure)
	}
	// Without the replay, --from reads only the block before the range.
	rep, err := chain.Verify(context.Background(), []chain.Source{memSource{name: "AuditMSP", blocks: blocks}}, chain.Options{From: 4, To: 5})
	if err != nil || !rep.OK {
		t.Fatalf("hashes only: %+v %v", rep, err)
	}
}

func TestReplayTruncatedStore(t *testing.T) {
	n := ledgertest.Net()
	blocks := n.SignedChain(5)
	file := ledgertest.BlockFile(blocks...)
	s, err := chain.OpenBlockStore(writeStore(t, file[:len(file)-10]))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 || !strings.Contains(s.Truncation(), "blockfile_000000 ends with an incomplete record at offset") {
		t.Fatalf("%d blocks, truncation %q", s.Len(), s.Truncation())
	}
	rep, err := chain.Verify(context.Background(), []chain.Source{s}, chain.Options{To: s.Last(), Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Failure
	if rep.OK || f.Check != chain.CheckComplete || f.Block != 4 ||
		!strings.Contains(f.Got, "block 3 is the last complete block signed by the orderers (OrdererMSP (orderer0.orderermsp))") {
		t.Fatalf("failure %v", f)
	}
	if rep.Blocks != 4 || rep.LastSigned.Block != 3 {
		t.Errorf("report %+v", rep)
	}
	// A range that stops before the end does not reach the cut.
	rep, _ = chain.Verify(context.Background(), []chain.Source{s}, chain.Options{To: 2, Replay: true})
	if !rep.OK {
		t.Errorf("range before the cut: %v", rep.Failure)
	}
	// A complete store is not truncated.
	s, _ = chain.OpenBlockStore(writeStore(t, file))
	if rep, _ := chain.Verify(context.Background(), []chain.Source{s}, chain.Options{To: s.Last(), Replay: true}); !rep.OK || s.Truncation() != "" {
		t.Errorf("complete store: %v", rep.Failure)
	}
}

func TestSignedFixtureMatchesFabricEncoding(t *testing.T) {
	// The fixture's blocks decode as qc decodes Fabric's own.
	n := ledgertest.Net()
	blocks := n.SignedChain(3)
	tx := chain.DecodeBlock(blocks[2], ledgertest.Chaincode).Transactions[0]
	if tx.DecodeError != "" || tx.Creator.MSPID != "BureauMSP" || len(tx.Endorsers) != 2 || tx.Function != "anchor:AnchorRecord" {
		t.Fatalf("decoded %+v", tx)
	}
	var md common.Metadata
	if err := proto.Unmarshal(blocks[2].Metadata.Metadata[0], &md); err != nil || len(md.Signatures) != 1 || len(md.Value) == 0 ||
		!bytes.Contains(md.Signatures[0].SignatureHeader, []byte("block-2")) {
		t.Fatalf("signature metadata: %v", err)
	}
}
