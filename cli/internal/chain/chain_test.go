package chain_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
)

// realStore holds blocks 0 to 3 of the channel as a Fabric 2.5 peer
// (peer0.audit) wrote them: the genesis block, four chaincode approvals,
// the chaincode definition's commit, and registry:Bootstrap.
const realStore = "testdata/fabric-2.5-store"

func TestHeaderBytesMatchesHandWrittenDER(t *testing.T) {
	h32 := bytes.Repeat([]byte{0xab}, 32)
	for _, n := range []uint64{0, 1, 127, 128, 255, 256, 65535, 1 << 31, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		for _, hdr := range []*common.BlockHeader{
			{Number: n, PreviousHash: h32, DataHash: h32},
			{Number: n, DataHash: h32}, // genesis: no previous hash
			{Number: n},
		} {
			if got, want := chain.HeaderBytes(hdr), ledgertest.HeaderDER(hdr); !bytes.Equal(got, want) {
				t.Errorf("number %d: got %x, want %x", n, got, want)
			}
		}
	}
}

// TestRealFabricHashes checks the hashing against what Fabric itself
// computed: each header's previous hash (written by the orderer) is the hash
// of the previous header as computed here, and each data hash is the hash of
// the block's data.
func TestRealFabricHashes(t *testing.T) {
	s, err := chain.OpenBlockStore(realStore)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 || s.First() != 0 || s.Last() != 3 {
		t.Fatalf("store holds %d blocks, %d to %d; want 4, 0 to 3", s.Len(), s.First(), s.Last())
	}
	ctx := context.Background()
	var prev *common.Block
	for n := uint64(0); n < 4; n++ {
		b, err := s.Block(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if got := chain.DataHash(b.Data); !bytes.Equal(got, b.Header.DataHash) {
			t.Errorf("block %d: data hash %x, header says %x", n, got, b.Header.DataHash)
		}
		if prev != nil {
			if got := chain.HeaderHash(prev.Header); !bytes.Equal(got, b.Header.PreviousHash) {
				t.Errorf("block %d: hash of block %d's header %x, Fabric wrote %x", n, n-1, got, b.Header.PreviousHash)
			}
		}
		prev = b
	}
	// Pinned: the hash of block 2's header, as Fabric wrote it into block 3.
	if got := hex.EncodeToString(prev.Header.PreviousHash); got != "db61711da52992fdb605340fab36dae50b257d5b7de3710b349ec81ea07b87d9" {
		t.Errorf("block 3 previous hash %s", got)
	}
	rep, err := chain.Verify(ctx, []chain.Source{s}, chain.Options{From: 0, To: 3})
	if err != nil || !rep.OK || rep.Blocks != 4 || rep.Transactions != 7 {
		t.Fatalf("verify: %+v %v %v", rep, rep.Failure, err)
	}
}

func TestDecodeRealBlock(t *testing.T) {
	s, err := chain.OpenBlockStore(realStore)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, _ := s.Block(ctx, 3)
	blk := chain.DecodeBlock(b, "quanchain")
	if len(blk.Transactions) != 1 {
		t.Fatalf("%d transactions", len(blk.Transactions))
	}
	tx := blk.Transactions[0]
	if tx.TxID != "740c5b985eab8978aef9a005a2640c5a3934ad824be19165453c020168cb56d4" || tx.Type != "ENDORSER_TRANSACTION" ||
		tx.ValidationCode != "VALID" || tx.Timestamp != "2026-11-28T12:49:01.946Z" || tx.DecodeError != "" {
		t.Errorf("transaction %+v", tx)
	}
	if tx.Creator == nil || tx.Creator.String() != "BureauMSP (User1@bureau.quanchain.local)" {
		t.Errorf("creator %v", tx.Creator)
	}
	if len(tx.Endorsers) != 2 || tx.Endorsers[0].MSPID != "BureauMSP" || tx.Endorsers[1].MSPID != "BankMSP" {
		t.Errorf("endorsers %v", tx.Endorsers)
	}
	if tx.Chaincode != "quanchain" || tx.Function != "registry:Bootstrap" || len(tx.Args) != 1 {
		t.Fatalf("call %s %s %s", tx.Chaincode, tx.Function, tx.Args)
	}
	var inst struct {
		MSPID string `json:"msp_id"`
		Kind  string `json:"kind"`
	}
	if err := json.Unmarshal(tx.Args[0], &inst); err != nil || inst.MSPID != "BureauMSP" || inst.Kind != "provider" {
		t.Errorf("args %s: %v", tx.Args[0], err)
	}
	if tx.Event == nil || tx.Event.Name != "Bootstrapped" || !strings.Contains(string(tx.Event.Payload), `"tx_id":"740c5b98`) {
		t.Errorf("event %+v", tx.Event)
	}
	if len(tx.Writes) != 2 || tx.Writes[0].Key != "config" || tx.Writes[1].Key != "institution/BureauMSP" {
		t.Errorf("writes %+v", tx.Writes)
	}

	// Lifecycle transactions: function shown, protobuf arguments not.
	b, _ = s.Block(ctx, 1)
	tx = chain.DecodeBlock(b, "quanchain").Transactions[0]
	if tx.Chaincode != "_lifecycle" || tx.Function != "ApproveChaincodeDefinitionForMyOrg" || len(tx.Args) != 0 || len(tx.ArgSizes) != 1 {
		t.Errorf("lifecycle transaction %+v", tx)
	}
	// The genesis block's configuration transaction.
	b, _ = s.Block(ctx, 0)
	tx = chain.DecodeBlock(b, "quanchain").Transactions[0]
	if tx.Type != "CONFIG" || tx.ValidationCode != "VALID" || tx.DecodeError != "" {
		t.Errorf("genesis transaction %+v", tx)
	}
}

func TestDecodeConstructedBlock(t *testing.T) {
	payload := []byte(`{"name":"AuthorizationRequested","authorization_id":"loan-1"}`)
	txs := []ledgertest.Tx{
		{ID: "aa", Creator: "BankMSP", Endorsers: []string{"BureauMSP", "BankMSP"}, Chaincode: "quanchain",
			Args:  []string{"consent:RequestAuthorization", `{"id":"loan-1", "categories":["tax"]}`, "100", "plain"},
			Event: "AuthorizationRequested", Payload: payload, Writes: []string{"\x00auth\x00loan-1\x00"}},
		{ID: "bb", Creator: "BankMSP", Chaincode: "othercc", Args: []string{"Put", "\x01\x02"}, Code: peer.TxValidationCode_MVCC_READ_CONFLICT},
	}
	blk := chain.DecodeBlock(ledgertest.Block(7, nil, txs...), "quanchain")
	if blk.Number != 7 || len(blk.Transactions) != 2 {
		t.Fatalf("block %+v", blk)
	}
	tx := blk.Transactions[0]
	args := make([]string, len(tx.Args))
	for i, a := range tx.Args {
		args[i] = string(a)
	}
	if got, want := strings.Join(args, " "), `{"id":"loan-1","categories":["tax"]} "100" "plain"`; got != want {
		t.Errorf("args %s, want %s", got, want)
	}
	if tx.Event.Name != "AuthorizationRequested" || string(tx.Event.Payload) != string(payload) {
		t.Errorf("event %+v", tx.Event)
	}
	if tx.Creator.Subject != "User1@bankmsp" || len(tx.Endorsers) != 2 || tx.ValidationCode != "VALID" {
		t.Errorf("identities %+v", tx)
	}
	if len(tx.Writes) != 1 || tx.Writes[0].Key != "auth/loan-1" {
		t.Errorf("writes %+v", tx.Writes)
	}
	tx = blk.Transactions[1]
	if tx.ValidationCode != "MVCC_READ_CONFLICT" || tx.Function != "Put" || len(tx.Args) != 0 || tx.ArgSizes[0] != 2 {
		t.Errorf("foreign transaction %+v", tx)
	}

	// A transaction that does not decode does not hide the others.
	b := ledgertest.Block(8, nil, txs[0])
	b.Data.Data = append([][]byte{[]byte("not an envelope")}, b.Data.Data...)
	blk = chain.DecodeBlock(b, "quanchain")
	if blk.Transactions[0].DecodeError == "" || blk.Transactions[1].TxID != "aa" {
		t.Errorf("decode errors %+v", blk.Transactions)
	}
}

func TestRenderKey(t *testing.T) {
	for in, want := range map[string]string{
		"\x00auth~citizen\x00ab\x002026\x00id\x00": "auth~citizen/ab/2026/id",
		"namespaces/fields/quanchain/Sequence":     "namespaces/fields/quanchain/Sequence",
		"bad\x01key":                               `bad\x01key`,
	} {
		if got := chain.RenderKey(in); got != want {
			t.Errorf("RenderKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// memSource is a chain copy held in memory.
type memSource struct {
	name   string
	blocks []*common.Block
	err    error
}

func (m memSource) Name() string { return m.name }
func (m memSource) Block(_ context.Context, n uint64) (*common.Block, error) {
	if m.err != nil {
		return nil, m.err
	}
	return proto.Clone(m.blocks[n]).(*common.Block), nil
}

func clone(blocks []*common.Block) []*common.Block {
	out := make([]*common.Block, len(blocks))
	for i, b := range blocks {
		out[i] = proto.Clone(b).(*common.Block)
	}
	return out
}

func TestVerify(t *testing.T) {
	good := ledgertest.SimpleChain(6)
	tip := ledgertest.HeaderHash(good[5].Header)
	tests := []struct {
		name    string
		tamper  func(ref, other []*common.Block)
		opts    chain.Options
		want    chain.Check // "" = OK
		block   uint64
		source  string
		details []string // substrings of expected+got
	}{
		{name: "intact chain", opts: chain.Options{To: 5, TipHash: tip}},
		{name: "intact range links to the block before it", opts: chain.Options{From: 3, To: 4}},
		{name: "changed transaction", tamper: func(ref, _ []*common.Block) { ref[3].Data.Data[0][40] ^= 1 },
			opts: chain.Options{To: 5}, want: chain.CheckDataHash, block: 3, source: "AuditMSP",
			details: []string{hex.EncodeToString(good[3].Header.DataHash)}},
		{name: "block rewritten with its data hash on every peer breaks the next link", tamper: func(ref, other []*common.Block) {
			for _, c := range [][]*common.Block{ref, other} {
				c[2].Data.Data[0][40] ^= 1
				c[2].Header.DataHash = chain.DataHash(c[2].Data)
			}
		}, opts: chain.Options{To: 5}, want: chain.CheckPreviousHash, block: 3, source: "AuditMSP"},
		{name: "range start checked against the block before it", tamper: func(ref, _ []*common.Block) {
			ref[2].Header.PreviousHash = bytes.Repeat([]byte{1}, 32)
		}, opts: chain.Options{From: 3, To: 5}, want: chain.CheckPreviousHash, block: 3, source: "AuditMSP"},
		{name: "genesis with a previous hash", tamper: func(ref, _ []*common.Block) { ref[0].Header.PreviousHash = []byte{1} },
			opts: chain.Options{To: 1}, want: chain.CheckPreviousHash, block: 0, source: "AuditMSP", details: []string{"(empty)", "01"}},
		{name: "wrong number", tamper: func(ref, _ []*common.Block) { ref[4].Header.Number = 40 },
			opts: chain.Options{To: 5}, want: chain.CheckNumber, block: 4, details: []string{"4", "40"}, source: "AuditMSP"},
		{name: "missing validation flags", tamper: func(ref, _ []*common.Block) { ref[1].Metadata.Metadata[2] = nil },
			opts: chain.Options{To: 5}, want: chain.CheckValidationFlags, block: 1, source: "AuditMSP", details: []string{"1 flags", "0 flags"}},
		{name: "other peer's block is inconsistent", tamper: func(_, other []*common.Block) {
			other[4].Header.DataHash = bytes.Repeat([]byte{9}, 32)
		}, opts: chain.Options{To: 5}, want: chain.CheckDataHash, block: 4, source: "BankMSP"},
		{name: "other peer holds a different, consistent block", tamper: func(_, other []*common.Block) {
			other[4].Data.Data[0][40] ^= 1
			other[4].Header.DataHash = chain.DataHash(other[4].Data)
		}, opts: chain.Options{To: 5}, want: chain.CheckHeaderMatch, block: 4, source: "BankMSP",
			details: []string{"data_hash " + hex.EncodeToString(good[4].Header.DataHash) + " (as on AuditMSP)"}},
		{name: "other peer validated differently", tamper: func(_, other []*common.Block) {
			other[2].Metadata.Metadata[2][0] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
		}, opts: chain.Options{To: 5}, want: chain.CheckFlagsMatch, block: 2, source: "BankMSP",
			details: []string{"transaction 0 VALID", "transaction 0 MVCC_READ_CONFLICT"}},
		{name: "chain info disagrees", opts: chain.Options{To: 5, TipHash: bytes.Repeat([]byte{7}, 32)},
			want: chain.CheckChainInfo, block: 5, source: "AuditMSP", details: []string{hex.EncodeToString(tip)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, other := clone(good), clone(good)
			if tc.tamper != nil {
				tc.tamper(ref, other)
			}
			rep, err := chain.Verify(context.Background(), []chain.Source{memSource{name: "AuditMSP", blocks: ref}, memSource{name: "BankMSP", blocks: other}}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.OK || rep.Failure != nil || rep.Blocks != tc.opts.To-tc.opts.From+1 {
					t.Fatalf("want OK, got %+v %v", rep, rep.Failure)
				}
				return
			}
			f := rep.Failure
			if rep.OK || f == nil {
				t.Fatalf("want a %s failure, got OK", tc.want)
			}
			if f.Check != tc.want || f.Block != tc.block || f.Source != tc.source {
				t.Fatalf("failure %v; want %s at block %d on %s", f, tc.want, tc.block, tc.source)
			}
			for _, d := range tc.details {
				if !strings.Contains(f.Expected+" | "+f.Got, d) {
					t.Errorf("failure %v does not mention %q", f, d)
				}
			}
		})
	}
}

func TestVerifyStopsOnSourceError(t *testing.T) {
	boom := errors.New("peer unreachable")
	good := ledgertest.SimpleChain(2)
	_, err := chain.Verify(context.Background(), []chain.Source{memSource{name: "AuditMSP", blocks: good}, memSource{name: "BankMSP", err: boom}}, chain.Options{To: 1})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "BankMSP") {
		t.Fatalf("err %v", err)
	}
	rep, err := chain.Verify(context.Background(), []chain.Source{memSource{name: "AuditMSP", err: &chain.CorruptError{Block: 0, Detail: "bad varint"}}}, chain.Options{To: 1})
	if err != nil || rep.OK || rep.Failure.Check != chain.CheckDecode || rep.Failure.Got != "bad varint" {
		t.Fatalf("corrupt source: %+v %v", rep, err)
	}
}

func writeStore(t *testing.T, files ...[]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ledgersData", "chains", "chains", "quanchain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, "blockfile_00000"+string(rune('0'+i))), f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBlockStore(t *testing.T) {
	ctx := context.Background()
	blocks := ledgertest.SimpleChain(5)
	file := ledgertest.BlockFile(blocks...)

	t.Run("round trip over two files, found from the ledger directory", func(t *testing.T) {
		dir := writeStore(t, ledgertest.BlockFile(blocks[:3]...), ledgertest.BlockFile(blocks[3:]...))
		top := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(dir))))
		s, err := chain.OpenBlockStore(top)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dir() != dir || s.Len() != 5 {
			t.Fatalf("opened %s with %d blocks", s.Dir(), s.Len())
		}
		for n := range blocks {
			b, err := s.Block(ctx, uint64(n))
			if err != nil || !proto.Equal(b, blocks[n]) {
				t.Fatalf("block %d: %v", n, err)
			}
		}
		rep, err := chain.Verify(ctx, []chain.Source{s}, chain.Options{To: s.Last()})
		if err != nil || !rep.OK {
			t.Fatalf("verify %+v %v", rep, err)
		}
	})

	t.Run("flipped byte in a transaction", func(t *testing.T) {
		tampered := bytes.Clone(file)
		// The last envelope of block 2 ends right before its metadata.
		i := bytes.Index(tampered, blocks[2].Data.Data[0])
		tampered[i+len(blocks[2].Data.Data[0])/2] ^= 0x20
		s, err := chain.OpenBlockStore(writeStore(t, tampered))
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := chain.Verify(ctx, []chain.Source{s}, chain.Options{To: s.Last()})
		if rep.OK || rep.Failure.Block != 2 || rep.Failure.Check != chain.CheckDataHash {
			t.Fatalf("report %+v %v", rep, rep.Failure)
		}
	})

	t.Run("incomplete last record fails the walk that reaches it", func(t *testing.T) {
		s, err := chain.OpenBlockStore(writeStore(t, file[:len(file)-10]))
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != 4 || !strings.Contains(s.Truncation(), "incomplete record") {
			t.Fatalf("%d blocks, truncation %q", s.Len(), s.Truncation())
		}
		rep, _ := chain.Verify(ctx, []chain.Source{s}, chain.Options{To: s.Last()})
		if rep.OK || rep.Failure.Block != 4 || rep.Failure.Check != chain.CheckComplete ||
			!strings.Contains(rep.Failure.Got, "block 3 is the last complete block") {
			t.Fatalf("report %+v %v", rep, rep.Failure)
		}
	})

	t.Run("incomplete record in an earlier file is damage", func(t *testing.T) {
		first := ledgertest.BlockFile(blocks[:3]...)
		s, err := chain.OpenBlockStore(writeStore(t, first[:len(first)-10], ledgertest.BlockFile(blocks[3:]...)))
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := chain.Verify(ctx, []chain.Source{s}, chain.Options{To: s.Last()})
		if rep.OK || rep.Failure.Block != 2 || rep.Failure.Check != chain.CheckDecode {
			t.Fatalf("report %+v %v", rep, rep.Failure)
		}
	})

	t.Run("garbage inside a record", func(t *testing.T) {
		var rec []byte
		rec = append(rec, 3, 0xff, 0xff, 0xff) // a block record whose data-hash length runs past its end
		s, err := chain.OpenBlockStore(writeStore(t, append(ledgertest.BlockFile(blocks[0]), rec...)))
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := chain.Verify(ctx, []chain.Source{s}, chain.Options{To: s.Last()})
		if rep.OK || rep.Failure.Block != 1 || rep.Failure.Check != chain.CheckDecode {
			t.Fatalf("report %+v %v", rep, rep.Failure)
		}
	})

	t.Run("no block files", func(t *testing.T) {
		if _, err := chain.OpenBlockStore(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no Fabric block files") {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("several channels", func(t *testing.T) {
		top := t.TempDir()
		for _, ch := range []string{"a", "b"} {
			d := filepath.Join(top, "chains", ch)
			_ = os.MkdirAll(d, 0o755)
			_ = os.WriteFile(filepath.Join(d, "blockfile_000000"), file, 0o644)
		}
		if _, err := chain.OpenBlockStore(top); err == nil || !strings.Contains(err.Error(), "several channels") {
			t.Fatalf("err %v", err)
		}
	})
}
