package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
)

// execute runs cmd with args and returns its error.
func execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.ExecuteContext(context.Background())
}

var grantTx = ledgertest.Tx{ID: strings.Repeat("c", 64), Creator: "BureauMSP", Endorsers: []string{"BureauMSP", "BankMSP"},
	Chaincode: "quanchain", Args: []string{"consent:Decide", "loan-1", "eyJ0eXBlIjoi", "c2ln", "kid-1"},
	Event: "AuthorizationGranted", Payload: []byte(`{"name":"AuthorizationGranted","authorization_id":"loan-1"}`),
	Writes: []string{"\x00auth\x00loan-1\x00"}}

func testChain() []*common.Block {
	blocks := ledgertest.SimpleChain(3)
	return append(blocks, ledgertest.Block(3, blocks[2], grantTx))
}

func TestInfo(t *testing.T) {
	fake := ledgertest.NewFake(testChain())
	f, out, _ := ledgertest.NewFactory(fake)
	if err := execute(NewCmdInfo(f, nil)); err != nil {
		t.Fatal(err)
	}
	tip := chain.HeaderHash(testChain()[3].Header)
	for _, want := range []string{"channel              quanchain", "peer                 AuditMSP", "height               4",
		"current block hash   " + chain.Hex(tip).String()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if err := execute(NewCmdInfo(f, nil), "--json"); err != nil {
		t.Fatal(err)
	}
	var info Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.Height != 4 || info.CurrentBlockHash != chain.Hex(tip).String() {
		t.Fatalf("json %s: %v", out, err)
	}
}

func TestBlock(t *testing.T) {
	fake := ledgertest.NewFake(testChain())
	f, out, _ := ledgertest.NewFactory(fake)
	if err := execute(NewCmdBlock(f, nil), "3"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"block          3",
		"transaction 0  " + grantTx.ID,
		"  creator     BureauMSP (User1@bureaumsp)",
		"  endorsers   BureauMSP (peer0.bureaumsp), BankMSP (peer0.bankmsp)",
		"  validation  VALID",
		"  call        quanchain consent:Decide",
		`  args        ["loan-1","eyJ0eXBlIjoi","c2ln","kid-1"]`,
		`  event       AuthorizationGranted {"name":"AuthorizationGranted","authorization_id":"loan-1"}`,
		"  writes      quanchain auth/loan-1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if err := execute(NewCmdBlock(f, nil), "3", "--json"); err != nil {
		t.Fatal(err)
	}
	var blk struct {
		Number       uint64
		HeaderHash   string `json:"header_hash"`
		Transactions []struct {
			Function string
			Args     []json.RawMessage
			Event    struct{ Payload map[string]string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &blk); err != nil {
		t.Fatal(err)
	}
	if blk.Number != 3 || blk.Transactions[0].Function != "consent:Decide" || blk.Transactions[0].Event.Payload["authorization_id"] != "loan-1" ||
		blk.HeaderHash != chain.Hex(ledgertest.HeaderHash(testChain()[3].Header)).String() {
		t.Fatalf("json %s", out)
	}
	err := execute(NewCmdBlock(f, nil), "4")
	var nf *cmdutil.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "height on AuditMSP's peer is 4") {
		t.Fatalf("beyond the height: %v", err)
	}
}

func TestTx(t *testing.T) {
	fake := ledgertest.NewFake(testChain())
	f, out, _ := ledgertest.NewFactory(fake)
	if err := execute(NewCmdTx(f, nil), strings.ToUpper(grantTx.ID), "--json"); err != nil {
		t.Fatal(err)
	}
	var res TxResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Block != 3 || res.Index != 0 || res.ValidationCode != "VALID" ||
		res.Event.Name != "AuthorizationGranted" {
		t.Fatalf("json %s: %v", out, err)
	}
	out.Reset()
	if err := execute(NewCmdTx(f, nil), grantTx.ID); err != nil || !strings.HasPrefix(out.String(), "block 3, transaction 0\ntransaction "+grantTx.ID) {
		t.Fatalf("table %q: %v", out, err)
	}
	err := execute(NewCmdTx(f, nil), strings.Repeat("d", 64))
	if !cmdutil.IsNotFound(err) {
		t.Fatalf("unknown transaction: %v", err)
	}
}

func TestVerifyFlags(t *testing.T) {
	fake := ledgertest.NewFake(nil)
	f, _, _ := ledgertest.NewFactory(fake)
	var got *VerifyOptions
	cmd := NewCmdVerify(f, func(o *VerifyOptions) error { got = o; return nil })
	if err := execute(cmd, "--from", "3", "--peers", "audit,BankMSP", "--json"); err != nil {
		t.Fatal(err)
	}
	if got.From != 3 || !got.FromSet || got.ToSet || strings.Join(got.Peers, ",") != "audit,BankMSP" || !got.Output.JSON {
		t.Fatalf("options %+v", got)
	}
	prof := ledgertest.Profile()
	own, _ := prof.Org("audit")
	orgs, err := resolvePeers(prof, own, []string{"bank", " AuditMSP", "bankmsp"})
	if err != nil || strings.Join(orgs, ",") != "BankMSP,AuditMSP" {
		t.Fatalf("resolved %v %v", orgs, err)
	}
	orgs, _ = resolvePeers(prof, own, nil)
	if strings.Join(orgs, ",") != "AuditMSP,BureauMSP,BankMSP,InsurerMSP" {
		t.Fatalf("default peers %v", orgs)
	}
	var ue *cmdutil.UsageError
	if _, err := resolvePeers(prof, own, []string{"mallory"}); !errors.As(err, &ue) {
		t.Fatalf("unknown peer: %v", err)
	}
}

func TestVerifyPeers(t *testing.T) {
	blocks := ledgertest.Net().SignedChain(30)

	t.Run("all agree", func(t *testing.T) {
		fake := ledgertest.NewFake(blocks)
		f, out, errOut := ledgertest.NewFactory(fake)
		if err := execute(NewCmdVerify(f, nil)); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"sources      AuditMSP, BureauMSP, BankMSP, InsurerMSP", "blocks       0 to 29",
			"verified     30 blocks, 30 transactions", "result       OK", "chain_info"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if errOut.Len() != 0 {
			t.Errorf("progress drawn without a terminal: %q", errOut)
		}
		// Every peer was asked for every block, each through its own org.
		per := map[string]int{}
		for _, c := range fake.Calls() {
			if c.Transaction == "GetBlockByNumber" {
				per[c.Org]++
			}
		}
		if per["AuditMSP"] != 30 || per["BankMSP"] != 30 || per["BureauMSP"] != 30 || per["InsurerMSP"] != 30 {
			t.Errorf("block requests per peer %v", per)
		}
	})

	t.Run("one peer diverges", func(t *testing.T) {
		fake := ledgertest.NewFake(blocks)
		forged := make([]*common.Block, len(blocks))
		for i, b := range blocks {
			forged[i] = proto.Clone(b).(*common.Block)
		}
		forged[17].Data.Data[0][50] ^= 1
		forged[17].Header.DataHash = chain.DataHash(forged[17].Data)
		fake.SetBlocks("BankMSP", forged)
		f, out, _ := ledgertest.NewFactory(fake)
		err := execute(NewCmdVerify(f, nil), "--json")
		var fc *cmdutil.FailedCheckError
		if !errors.As(err, &fc) || !strings.Contains(err.Error(), "block 17: header_match check failed on BankMSP") {
			t.Fatalf("err %v", err)
		}
		var rep chain.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.Failure.Block != 17 || rep.Failure.Source != "BankMSP" || rep.Blocks != 17 {
			t.Fatalf("report %s", out)
		}
	})

	t.Run("a peer behind", func(t *testing.T) {
		fake := ledgertest.NewFake(blocks)
		fake.SetBlocks("InsurerMSP", blocks[:25])
		f, out, _ := ledgertest.NewFactory(fake)
		if err := execute(NewCmdVerify(f, nil)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "blocks       0 to 24") || strings.Contains(out.String(), "chain_info") ||
			!strings.Contains(out.String(), "InsurerMSP 25") {
			t.Fatalf("output:\n%s", out)
		}
		err := execute(NewCmdVerify(f, nil), "--to", "27")
		if !cmdutil.IsNotFound(err) || !strings.Contains(err.Error(), "InsurerMSP's peer (height 25)") {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("progress on a terminal only", func(t *testing.T) {
		fake := ledgertest.NewFake(blocks)
		f, _, errOut := ledgertest.NewFactory(fake)
		f.IOStreams.StderrTTY = true
		if err := execute(NewCmdVerify(f, nil), "--peers", "audit"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errOut.String(), "verifying blocks") {
			t.Errorf("no progress bar on a terminal: %q", errOut)
		}
		errOut.Reset()
		if err := execute(NewCmdVerify(f, nil), "--peers", "audit", "--json"); err != nil {
			t.Fatal(err)
		}
		if errOut.Len() != 0 {
			t.Errorf("progress bar with --json: %q", errOut)
		}
	})
}

func TestVerifyBlockStore(t *testing.T) {
	blocks := ledgertest.Net().SignedChain(8)
	dir := filepath.Join(t.TempDir(), "quanchain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := ledgertest.BlockFile(blocks...)
	if err := os.WriteFile(filepath.Join(dir, "blockfile_000000"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, _ := ledgertest.NewFactory(ledgertest.NewFake(nil)) // no network needed
	if err := execute(NewCmdVerify(f, nil), "--block-store", dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "sources      block store "+dir) || !strings.Contains(out.String(), "result       OK") {
		t.Fatalf("output:\n%s", out)
	}
	i := bytes.Index(file, blocks[5].Data.Data[0])
	file[i+100] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, "blockfile_000000"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := execute(NewCmdVerify(f, nil), "--block-store", dir)
	var fc *cmdutil.FailedCheckError
	if !errors.As(err, &fc) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"result       FAILED at block 5", "check        data_hash", "expected     " + chain.Hex(blocks[5].Header.DataHash).String() + " (header)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := execute(NewCmdVerify(f, nil), "--block-store", dir, "--to", "8"); !cmdutil.IsNotFound(err) {
		t.Fatalf("beyond the store: %v", err)
	}
}
