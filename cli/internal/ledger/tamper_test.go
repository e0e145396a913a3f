package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/ledger"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
	"github.com/quanchain/quanchain/cli/internal/root"
)

const anchorKey = "\x00anchor\x00tax-1\x00"

// scenario is a signed chain with a genuine read conflict:
//
//	block 0  the channel configuration
//	block 1  the chaincode definition (_lifecycle)
//	block 2  tx 0 writes the key
//	block 3  tx 0 and tx 1 both read the key at (2, 0) and write it:
//	         tx 0 VALID, tx 1 MVCC_READ_CONFLICT
//	block 4  tx 0 reads the key at (3, 0) and writes it, VALID
//	block 5  tx 0 anchors another record, VALID
func scenario() []*common.Block {
	n := ledgertest.Net()
	update := func(at uint64, code peer.TxValidationCode) ledgertest.SignedTx {
		tx := n.AnchorTx(anchorKey)
		tx.Reads[0].Version = &ledgertest.Version{Block: at}
		tx.Code = code
		return tx
	}
	return n.Chain(
		[]ledgertest.SignedTx{n.Define(ledgertest.Chaincode, ledgertest.EndorsementPolicy())},
		[]ledgertest.SignedTx{n.AnchorTx(anchorKey)},
		[]ledgertest.SignedTx{update(2, peer.TxValidationCode_VALID), update(2, peer.TxValidationCode_MVCC_READ_CONFLICT)},
		[]ledgertest.SignedTx{update(3, peer.TxValidationCode_VALID)},
		[]ledgertest.SignedTx{n.AnchorTx("\x00anchor\x00tax-2\x00")},
	)
}

func cloneBlocks(blocks []*common.Block) []*common.Block {
	out := make([]*common.Block, len(blocks))
	for i, b := range blocks {
		out[i] = proto.Clone(b).(*common.Block)
	}
	return out
}

// relink recomputes the data hash of block from and every later block's
// link, as a forger without the orderers' keys can.
func relink(blocks []*common.Block, from int) {
	blocks[from].Header.DataHash = chain.DataHash(blocks[from].Data)
	for i := from + 1; i < len(blocks); i++ {
		blocks[i].Header.PreviousHash = chain.HeaderHash(blocks[i-1].Header)
	}
}

func storeDir(t *testing.T, file []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chains", "quanchain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blockfile_000000"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// verifyStore runs `qc ledger verify --block-store dir --json` with no
// network and returns the exit status and the report.
func verifyStore(t *testing.T, dir string, args ...string) (int, chain.Report) {
	t.Helper()
	f, out, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
	cmd := ledger.NewCmdVerify(f, nil)
	cmd.SetArgs(append([]string{"--block-store", dir, "--json"}, args...))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	code := root.ExitCode(cmd.ExecuteContext(context.Background()))
	var rep chain.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, output %q: %v", code, out, err)
	}
	return code, rep
}

// TestVerifyStoreTampering holds `qc ledger verify --block-store` to each
// way of rewriting a copy of a block store that the hash checks alone let
// through.
func TestVerifyStoreTampering(t *testing.T) {
	good := scenario()
	if code, rep := verifyStore(t, storeDir(t, ledgertest.BlockFile(good...))); code != 0 || !rep.OK || rep.LastSigned.Block != 5 {
		t.Fatalf("intact store: exit %d, %+v %v", code, rep, rep.Failure)
	}
	tests := []struct {
		name   string
		tamper func(blocks []*common.Block) []byte // returns the block file
		block  uint64
		tx     int // -1: the block itself
		check  chain.Check
		got    string
	}{
		{name: "a transaction's field rewritten and every later block re-linked", tamper: func(b []*common.Block) []byte {
			// The anchored record's category, in block 2's only transaction.
			b[2].Data.Data[0] = bytes.Replace(b[2].Data.Data[0], []byte(`"category":"tax"`), []byte(`"category":"TAX"`), 1)
			relink(b, 2)
			return ledgertest.BlockFile(b...)
		}, block: 2, tx: -1, check: chain.CheckOrdererSignature, got: "the signature does not verify"},
		{name: "the last block and its data hash edited", tamper: func(b []*common.Block) []byte {
			b[5].Data.Data[0] = bytes.Replace(b[5].Data.Data[0], []byte("tax-2"), []byte("tax-9"), 1)
			relink(b, 5)
			return ledgertest.BlockFile(b...)
		}, block: 5, tx: -1, check: chain.CheckOrdererSignature, got: "the signature does not verify"},
		{name: "a transaction that failed with MVCC_READ_CONFLICT marked VALID", tamper: func(b []*common.Block) []byte {
			b[3].Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][1] = byte(peer.TxValidationCode_VALID)
			return ledgertest.BlockFile(b...)
		}, block: 3, tx: 1, check: chain.CheckMVCC, got: "read at (block 2, tx 0), but the committed version is (block 3, tx 0)"},
		{name: "a VALID transaction marked MVCC_READ_CONFLICT", tamper: func(b []*common.Block) []byte {
			b[4].Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][0] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
			return ledgertest.BlockFile(b...)
		}, block: 4, tx: 0, check: chain.CheckMVCC, got: "every read matches the committed versions"},
		{name: "a VALID transaction marked ENDORSEMENT_POLICY_FAILURE", tamper: func(b []*common.Block) []byte {
			b[2].Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][0] = byte(peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE)
			return ledgertest.BlockFile(b...)
		}, block: 2, tx: 0, check: chain.CheckEndorsementPolicy, got: "the endorsements satisfy every policy"},
		{name: "the last record cut short", tamper: func(b []*common.Block) []byte {
			file := ledgertest.BlockFile(b...)
			return file[:len(file)-25]
		}, block: 5, tx: -1, check: chain.CheckComplete,
			got: "block 4 is the last complete block signed by the orderers (OrdererMSP (orderer0.orderermsp))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, rep := verifyStore(t, storeDir(t, tc.tamper(cloneBlocks(good))))
			if code != root.ExitFailedCheck {
				t.Fatalf("exit %d, want %d; report %+v", code, root.ExitFailedCheck, rep)
			}
			f := rep.Failure
			if rep.OK || f == nil || f.Block != tc.block || f.Check != tc.check {
				t.Fatalf("failure %v; want %s at block %d", f, tc.check, tc.block)
			}
			if (tc.tx < 0) != (f.TxIndex == nil) || (f.TxIndex != nil && *f.TxIndex != tc.tx) {
				t.Fatalf("failure %v; want transaction %d", f, tc.tx)
			}
			if !strings.Contains(f.Got, tc.got) {
				t.Errorf("got %q, want it to mention %q", f.Got, tc.got)
			}
		})
	}
}

func TestVerifyStoreAgainstLivePeer(t *testing.T) {
	good := scenario()
	fake := ledgertest.NewFake(good)
	run := func(file []byte) (int, chain.Report) {
		f, out, _ := ledgertest.NewFactory(fake)
		cmd := ledger.NewCmdVerify(f, nil)
		cmd.SetArgs([]string{"--block-store", storeDir(t, file), "--peers", "audit", "--json"})
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		code := root.ExitCode(cmd.ExecuteContext(context.Background()))
		var rep chain.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("exit %d: %v", code, err)
		}
		return code, rep
	}

	code, rep := run(ledgertest.BlockFile(good...))
	if code != 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "AuditMSP's peer is at height 6, as the copy") {
		t.Fatalf("exit %d, %+v", code, rep)
	}
	file := ledgertest.BlockFile(good...)
	code, rep = run(file[:len(file)-25])
	if code != root.ExitFailedCheck || rep.Failure.Check != chain.CheckComplete ||
		!strings.Contains(strings.Join(rep.Notes, "\n"), "AuditMSP's peer is at height 6: the copy lacks block 5") {
		t.Fatalf("cut short: exit %d, %+v", code, rep)
	}
	// A copy of another chain, consistent in itself: its last header is not
	// the live peer's.
	other := ledgertest.Net().SignedChain(6)
	code, rep = run(ledgertest.BlockFile(other...))
	if code != root.ExitFailedCheck || rep.Failure.Check != chain.CheckHeaderMatch || rep.Failure.Block != 5 ||
		!strings.Contains(rep.Failure.Expected, "as on AuditMSP's live peer") {
		t.Fatalf("other chain: exit %d, %+v %v", code, rep, rep.Failure)
	}
}

func TestVerifyStoreWithoutGenesis(t *testing.T) {
	blocks := scenario()
	f, _, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
	cmd := ledger.NewCmdVerify(f, nil)
	cmd.SetArgs([]string{"--block-store", storeDir(t, ledgertest.BlockFile(blocks[2:]...))})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(context.Background())
	if root.ExitCode(err) != root.ExitUsage || !strings.Contains(err.Error(), "starts at block 2") {
		t.Fatalf("err %v", err)
	}
}

func TestVerifyStoreGenesis(t *testing.T) {
	blocks := scenario()
	dir := storeDir(t, ledgertest.BlockFile(blocks...))
	file := func(b *common.Block) string {
		raw, _ := proto.Marshal(b)
		p := filepath.Join(t.TempDir(), "genesis.block")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if code, rep := verifyStore(t, dir, "--genesis", file(blocks[0])); code != 0 || !rep.OK || !strings.Contains(strings.Join(checks(rep), ","), "genesis") {
		t.Fatalf("own genesis: exit %d %+v", code, rep)
	}
	code, rep := verifyStore(t, dir, "--genesis", file(ledgertest.NewNetwork().Genesis()))
	if code != root.ExitFailedCheck || rep.Failure.Check != chain.CheckGenesis || rep.Failure.Block != 0 {
		t.Fatalf("another channel's genesis: exit %d %v", code, rep.Failure)
	}
	f, _, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
	cmd := ledger.NewCmdVerify(f, nil)
	cmd.SetArgs([]string{"--block-store", dir, "--genesis", file(blocks[3])})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.ExecuteContext(context.Background()); root.ExitCode(err) != root.ExitUsage || !strings.Contains(err.Error(), "block 3, not the genesis block") {
		t.Fatalf("not a genesis block: %v", err)
	}
}

func checks(r chain.Report) []string {
	out := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		out[i] = string(c)
	}
	return out
}
