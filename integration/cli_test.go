package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli"
)

// qcResult is one run of qc.
type qcResult struct {
	code           int
	stdout, stderr string
}

// qc runs the qc command line in-process against the test network, as the
// auditor (the default profile).
func qc(t *testing.T, args ...string) qcResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, append([]string{"--state-dir", testNet.StateDir()}, args...), &out, &errOut)
	return qcResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustQC runs qc and requires the exit code want.
func mustQC(t *testing.T, want int, args ...string) qcResult {
	t.Helper()
	r := qc(t, args...)
	if r.code != want {
		t.Fatalf("qc %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func jsonOf[T any](t *testing.T, r qcResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, r.stdout, err)
	}
	return v
}

// cliFlow is what TestCLIAudit submitted, for the other CLI tests.
type cliFlow struct {
	authID, ref       string
	accessIDs         []string
	requestTxID       string
	since, until      string
	document          []byte
	batchID           string
	batchRecords      [][]byte
	batchTree         *merkle.Tree
	documentCategory  string
	accessTxID        string
	unanchoredDocHash string
}

var flow *cliFlow

// submitFlow submits, once, a lending flow and anchors for the CLI to read:
// a citizen key, a request, a grant, two deliveries, a single anchor and a
// Merkle batch.
func submitFlow(t *testing.T) *cliFlow {
	t.Helper()
	if flow != nil {
		return flow
	}
	f := &cliFlow{authID: id("cli-loan"), since: model.FormatTime(time.Now().Add(-time.Minute))}
	f.ref = newCitizen("cli-citizen-"+runID, "", "").ref
	phone := newDevice(t)
	phone.kid = string(as(t, bureau).mustSubmit("registry:AddCitizenKey", f.ref, phone.jwk))
	a := decode[model.Authorization](t, as(t, bank).mustSubmit("consent:RequestAuthorization", mustJSON(lending(f.authID, f.ref))))
	f.requestTxID = a.RequestTxID
	if _, err := decide(t, f.authID, phone, model.ActionGrant); err != nil {
		t.Fatalf("grant: %v", describe(err))
	}
	for i, cats := range [][]string{{"housing_fund", "tax"}, {"social_security"}} {
		accID := id("cli-acc" + strconv.Itoa(i+1))
		acc := decode[model.Access](t, as(t, bureau).mustSubmit("access:RecordAccess", delivery(accID, f.authID, bank, cats...)))
		f.accessIDs = append(f.accessIDs, accID)
		if i == 0 {
			f.accessTxID = acc.TxID
		}
	}
	f.document = []byte(`{"licence":"e-licence for the CLI test","run":"` + runID + `"}`)
	f.documentCategory = "housing_fund"
	as(t, bureau).mustSubmit("anchor:AnchorRecord", f.documentCategory, sha(string(f.document)))
	f.unanchoredDocHash = sha("never anchored " + runID)

	f.batchID = id("cli-batch")
	var leaves [][]byte
	for i := 0; i < 5; i++ {
		r := []byte(`{"batch record":` + strconv.Itoa(i) + `,"run":"` + runID + `"}`)
		f.batchRecords = append(f.batchRecords, r)
		s := sha256.Sum256(r)
		leaves = append(leaves, s[:])
	}
	f.batchTree = merkle.New(leaves)
	as(t, bureau).mustSubmit("anchor:AnchorBatch", mustJSON(model.BatchAnchorRequest{BatchID: f.batchID,
		Category: "housing_fund", Root: f.batchTree.Root().String(), LeafCount: len(leaves)}))
	f.until = model.FormatTime(time.Now().Add(time.Minute))
	flow = f
	return f
}

func TestCLIConfigAndInfo(t *testing.T) {
	cfg := jsonOf[map[string]string](t, mustQC(t, 0, "config", "--json"))
	if cfg["msp_id"] != audit || cfg["channel"] != "quanchain" || cfg["chaincode"] != "quanchain" ||
		!strings.Contains(cfg["identity"], "CN=User1@audit.quanchain.local") || cfg["state_dir"] != testNet.StateDir() {
		t.Fatalf("config %v", cfg)
	}
	bank := jsonOf[map[string]string](t, mustQC(t, 0, "--profile", "BankMSP", "config", "--json"))
	if bank["msp_id"] != "BankMSP" || bank["peer_endpoint"] == cfg["peer_endpoint"] {
		t.Fatalf("bank config %v", bank)
	}

	info := jsonOf[struct {
		Peer             string `json:"peer"`
		Height           uint64 `json:"height"`
		CurrentBlockHash string `json:"current_block_hash"`
	}](t, mustQC(t, 0, "ledger", "info", "--json"))
	if info.Peer != audit || info.Height == 0 || len(info.CurrentBlockHash) != 64 {
		t.Fatalf("info %+v", info)
	}
	table := mustQC(t, 0, "ledger", "info")
	if !strings.Contains(table.stdout, "peer                 AuditMSP") {
		t.Fatalf("info table:\n%s", table.stdout)
	}
	r := mustQC(t, 4, "ledger", "block", "999999999")
	if !strings.Contains(r.stderr, "block 999999999 not found") {
		t.Fatalf("stderr %s", r.stderr)
	}
}

func TestCLIAudit(t *testing.T) {
	f := submitFlow(t)

	t.Run("authorizations of the citizen", func(t *testing.T) {
		list := jsonOf[[]model.Authorization](t, mustQC(t, 0, "audit", "authorizations", "--citizen", f.ref, "--requester", bank, "--json"))
		if len(list) != 1 || list[0].ID != f.authID || list[0].Status != model.AuthGranted || list[0].Uses != 2 || list[0].Requester != bank {
			t.Fatalf("authorisations %+v", list)
		}
		r := mustQC(t, 0, "audit", "authorizations", "--citizen", f.ref, "--requester", bank)
		if !strings.Contains(r.stdout, f.authID) || !strings.Contains(r.stdout, "GRANTED") || !strings.Contains(r.stdout, "2/3") {
			t.Fatalf("table:\n%s", r.stdout)
		}
		r = mustQC(t, 2, "audit", "authorizations", "--citizen", "370102199003071234")
		if !strings.Contains(r.stderr, "not an ID number") || strings.Contains(r.stderr, "370102199003071234") {
			t.Fatalf("stderr %s", r.stderr)
		}
	})

	t.Run("authorizations of the institution in the period", func(t *testing.T) {
		r := mustQC(t, 0, "audit", "authorizations", "--institution", bank, "--since", f.since, "--until", f.until, "--status", "granted", "--format", "csv")
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if err != nil || rows[0][0] != "id" {
			t.Fatalf("csv %q: %v", r.stdout, err)
		}
		found := false
		for _, row := range rows[1:] {
			found = found || row[0] == f.authID
			if row[5] != "GRANTED" {
				t.Errorf("status filter let through %v", row)
			}
		}
		if !found {
			t.Fatalf("%s not in\n%s", f.authID, r.stdout)
		}
	})

	t.Run("accesses", func(t *testing.T) {
		list := jsonOf[[]model.Access](t, mustQC(t, 0, "audit", "accesses", "--authorization", f.authID, "--json"))
		if len(list) != 2 || list[0].ID != f.accessIDs[0] || list[1].ID != f.accessIDs[1] || list[1].UseNumber != 2 {
			t.Fatalf("accesses %+v", list)
		}
		r := mustQC(t, 0, "audit", "accesses", "--citizen", f.ref, "--requester", bank, "--format", "csv")
		if rows, _ := csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); len(rows) != 3 || rows[1][5] != "housing_fund;tax" {
			t.Fatalf("csv:\n%s", r.stdout)
		}
		r = mustQC(t, 0, "audit", "accesses", "--institution", bank, "--since", f.since, "--until", f.until)
		for _, id := range f.accessIDs {
			if !strings.Contains(r.stdout, id) {
				t.Fatalf("%s not in\n%s", id, r.stdout)
			}
		}
		mustQC(t, 4, "audit", "accesses", "--authorization", "no-such-"+runID)
	})

	t.Run("history", func(t *testing.T) {
		type version struct {
			TxID    string `json:"tx_id"`
			Changes []struct {
				Field string          `json:"field"`
				To    json.RawMessage `json:"to"`
			} `json:"changes"`
		}
		vs := jsonOf[[]version](t, mustQC(t, 0, "audit", "history", "auth", f.authID, "--json"))
		if len(vs) != 4 || vs[3].TxID != f.requestTxID || vs[3].Changes[0].Field != "(created)" {
			t.Fatalf("history %+v", vs)
		}
		r := mustQC(t, 0, "audit", "history", "authorization", f.authID)
		for _, want := range []string{"uses 1→2", "uses 0→1", "status PENDING→GRANTED", "(created)", "4 version(s) of auth " + f.authID} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("history lacks %q:\n%s", want, r.stdout)
			}
		}
		mustQC(t, 4, "audit", "history", "auth", "no-such-"+runID)
	})

	t.Run("transaction and its block", func(t *testing.T) {
		type tx struct {
			Block          uint64 `json:"block"`
			TxID           string `json:"tx_id"`
			ValidationCode string `json:"validation_code"`
			Creator        struct {
				MSPID string `json:"msp_id"`
			} `json:"creator"`
			Endorsers []struct {
				MSPID string `json:"msp_id"`
			} `json:"endorsers"`
			Function string            `json:"function"`
			Args     []json.RawMessage `json:"args"`
			Event    struct {
				Name    string `json:"name"`
				Payload struct {
					AccessID string `json:"access_id"`
				} `json:"payload"`
			} `json:"event"`
		}
		got := jsonOf[tx](t, mustQC(t, 0, "ledger", "tx", f.accessTxID, "--json"))
		if got.TxID != f.accessTxID || got.ValidationCode != "VALID" || got.Creator.MSPID != bureau || got.Function != "access:RecordAccess" ||
			got.Event.Name != model.EventAccessRecorded || got.Event.Payload.AccessID != f.accessIDs[0] || len(got.Endorsers) < 2 {
			t.Fatalf("transaction %+v", got)
		}
		// The delivery went as private input (transient data): the block
		// holds no argument of it.
		if len(got.Args) != 0 {
			t.Fatalf("the block holds the delivery's arguments: %s", got.Args)
		}
		r := mustQC(t, 0, "ledger", "block", strconv.FormatUint(got.Block, 10))
		for _, want := range []string{f.accessTxID, "creator     BureauMSP (User1@bureau.quanchain.local)", "call        quanchain access:RecordAccess",
			"event       AccessRecorded", "validation  VALID"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("block %d lacks %q:\n%s", got.Block, want, r.stdout)
			}
		}
		mustQC(t, 4, "ledger", "tx", strings.Repeat("0", 64))
	})

	t.Run("report", func(t *testing.T) {
		type report struct {
			Accesses int `json:"accesses"`
			Summary  []struct {
				Institution, Purpose, Category string
				Accesses                       int
			} `json:"summary"`
			Findings []json.RawMessage `json:"findings"`
		}
		rep := jsonOf[report](t, mustQC(t, 0, "audit", "report", "--since", f.since, "--until", f.until, "--json"))
		if rep.Accesses < 2 || len(rep.Findings) != 0 {
			t.Fatalf("report %+v", rep)
		}
		cats := map[string]bool{}
		for _, s := range rep.Summary {
			if s.Institution == bank && s.Purpose == "CREDIT_ASSESSMENT" {
				cats[s.Category] = true
			}
		}
		if !cats["housing_fund"] || !cats["tax"] || !cats["social_security"] {
			t.Fatalf("summary %+v", rep.Summary)
		}
		r := mustQC(t, 0, "audit", "report", "--since", f.since, "--until", f.until, "--format", "csv")
		rows, _ := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		n := 0
		for _, row := range rows[1:] {
			if row[0] == f.accessIDs[0] || row[0] == f.accessIDs[1] {
				n++
				if row[len(row)-1] != "" {
					t.Errorf("findings for %s: %s", row[0], row[len(row)-1])
				}
			}
		}
		if n != 2 {
			t.Fatalf("csv rows for the flow's accesses: %d\n%s", n, r.stdout)
		}
		table := mustQC(t, 0, "audit", "report", "--since", f.since, "--until", f.until)
		if !strings.Contains(table.stdout, "0 finding(s)") {
			t.Fatalf("table:\n%s", table.stdout)
		}
	})
}

func TestCLIVerifyRecords(t *testing.T) {
	f := submitFlow(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	doc := write("licence.json", f.document)

	r := mustQC(t, 0, "verify", "document", "--sha256", sha(string(f.document)))
	if !strings.Contains(r.stdout, "result    VALID") || !strings.Contains(r.stdout, "housing_fund by BureauMSP") {
		t.Fatalf("document:\n%s", r.stdout)
	}
	r = mustQC(t, 3, "verify", "document", "--sha256", f.unanchoredDocHash)
	if !strings.Contains(r.stdout, "NOT VALID (ANCHOR_NOT_FOUND)") {
		t.Fatalf("unanchored document:\n%s", r.stdout)
	}
	mustQC(t, 0, "verify", "record", "--category", f.documentCategory, "--file", doc)
	r = mustQC(t, 3, "verify", "record", "--category", "tax", "--file", doc, "--json")
	if res := jsonOf[map[string]any](t, r); res["reason"] != "CATEGORY_MISMATCH" {
		t.Fatalf("other category %v", res)
	}

	proofFile := func(i uint64) string {
		p, err := f.batchTree.Proof(i)
		if err != nil {
			t.Fatal(err)
		}
		hexes := make([]string, len(p))
		for j := range p {
			hexes[j] = p[j].String()
		}
		return write("proof"+strconv.FormatUint(i, 10)+".json", []byte(mustJSON(hexes)))
	}
	rec := write("record3.json", f.batchRecords[3])
	r = mustQC(t, 0, "verify", "record", "--category", "housing_fund", "--file", rec, "--batch", f.batchID, "--index", "3", "--proof-file", proofFile(3), "--json")
	res := jsonOf[struct {
		Valid  bool `json:"valid"`
		Ledger struct {
			Anchored bool `json:"anchored"`
		} `json:"ledger"`
		Local struct {
			Included bool   `json:"included"`
			Root     string `json:"root"`
		} `json:"local"`
	}](t, r)
	if !res.Valid || !res.Ledger.Anchored || !res.Local.Included || res.Local.Root != f.batchTree.Root().String() {
		t.Fatalf("batch record %+v", res)
	}
	r = mustQC(t, 3, "verify", "record", "--category", "housing_fund", "--file", rec, "--batch", f.batchID, "--index", "2", "--proof-file", proofFile(3))
	if !strings.Contains(r.stdout, "local proof      NOT included") || !strings.Contains(r.stdout, "chaincode proof  NOT included") {
		t.Fatalf("wrong index:\n%s", r.stdout)
	}
	mustQC(t, 4, "verify", "record", "--category", "housing_fund", "--file", rec, "--batch", "no-such-"+runID, "--index", "3", "--proof-file", proofFile(3))
}

func TestCLILedgerVerify(t *testing.T) {
	submitFlow(t)
	type report struct {
		Sources []string `json:"sources"`
		From    uint64   `json:"from"`
		To      uint64   `json:"to"`
		Blocks  uint64   `json:"blocks_verified"`
		Checks  []string `json:"checks"`
		OK      bool     `json:"ok"`
		Failure *struct {
			Block    uint64 `json:"block"`
			Check    string `json:"check"`
			Source   string `json:"source"`
			Expected string `json:"expected"`
			Got      string `json:"got"`
		} `json:"failure"`
	}
	rep := jsonOf[report](t, mustQC(t, 0, "ledger", "verify", "--json"))
	if !rep.OK || strings.Join(rep.Sources, ",") != "AuditMSP,BureauMSP,BankMSP,InsurerMSP" || rep.From != 0 || rep.Blocks != rep.To+1 ||
		!strings.Contains(strings.Join(rep.Checks, ","), "header_match") || !strings.Contains(strings.Join(rep.Checks, ","), "chain_info") {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("verified blocks 0 to %d on %v", rep.To, rep.Sources)
	from := strconv.FormatUint(rep.To-3, 10)
	r := mustQC(t, 0, "ledger", "verify", "--peers", "bank,insurer", "--from", from)
	if !regexp.MustCompile(`sources\s+BankMSP, InsurerMSP`).MatchString(r.stdout) || !regexp.MustCompile(`result\s+OK`).MatchString(r.stdout) {
		t.Fatalf("table:\n%s", r.stdout)
	}
}

// TestCLITamperedBlockStore copies the auditor peer's block store, changes
// one byte of the copy inside a known block, and checks that qc names that
// block. The live ledger is only read.
func TestCLITamperedBlockStore(t *testing.T) {
	f := submitFlow(t)
	live := filepath.Join(testNet.Layout().DataDir("peer0.audit"), "ledger", "ledgersData", "chains", "chains", "quanchain")
	files, err := filepath.Glob(filepath.Join(live, "blockfile_*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no block files in %s: %v", live, err)
	}
	// The block that holds the flow's request, as qc itself reports it.
	where := jsonOf[struct {
		Block uint64 `json:"block"`
	}](t, mustQC(t, 0, "ledger", "tx", f.requestTxID, "--json"))

	copyStore := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "chains", "chains", "quanchain")
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, src := range files {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, filepath.Base(src)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	// fileWith returns the block file of the copy that holds needle.
	fileWith := func(t *testing.T, dir string, needle []byte) (string, []byte) {
		for _, src := range files {
			path := filepath.Join(dir, filepath.Base(src))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, needle) {
				return path, b
			}
		}
		t.Fatalf("%q is in no block file", needle)
		return "", nil
	}
	// locate finds the record (block) of the block file that holds needle:
	// its number, the record's bounds, and the needle's offset.
	type record struct {
		number     uint64
		start, end int
	}
	locate := func(t *testing.T, file []byte, needle []byte) (record, int) {
		at := bytes.Index(file, needle)
		if at < 0 {
			t.Fatalf("%q is not in the block file", needle)
		}
		for off := 0; off < len(file); {
			n, w := protowire.ConsumeVarint(file[off:])
			if w < 0 {
				t.Fatalf("bad framing at %d", off)
			}
			start, end := off+w, off+w+int(n)
			if at >= start && at < end {
				num, _ := protowire.ConsumeVarint(file[start:])
				return record{number: num, start: start, end: end}, at
			}
			off = end
		}
		t.Fatal("needle past the last record")
		return record{}, 0
	}
	type report struct {
		OK      bool   `json:"ok"`
		From    uint64 `json:"from"`
		To      uint64 `json:"to"`
		Failure struct {
			Block    uint64 `json:"block"`
			Check    string `json:"check"`
			Source   string `json:"source"`
			Expected string `json:"expected"`
			Got      string `json:"got"`
		} `json:"failure"`
	}

	t.Run("intact copy", func(t *testing.T) {
		dst := copyStore(t)
		rep := jsonOf[report](t, mustQC(t, 0, "ledger", "verify", "--block-store", filepath.Dir(filepath.Dir(filepath.Dir(dst))), "--json"))
		if !rep.OK || rep.To < where.Block {
			t.Fatalf("report %+v", rep)
		}
	})

	t.Run("one byte changed in a transaction", func(t *testing.T) {
		dst := copyStore(t)
		path, file := fileWith(t, dst, []byte(f.authID))
		rec, at := locate(t, file, []byte(f.authID))
		if rec.number != where.Block {
			t.Fatalf("the request is in block %d of the file, qc ledger tx says %d", rec.number, where.Block)
		}
		file[at] ^= 0x01 // "c" of "cli-loan-…" becomes "b"
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		r := mustQC(t, 3, "ledger", "verify", "--block-store", dst, "--json")
		rep := jsonOf[report](t, r)
		if rep.OK || rep.Failure.Block != where.Block || rep.Failure.Check != "data_hash" || !strings.Contains(rep.Failure.Source, dst) {
			t.Fatalf("report %+v", rep)
		}
		table := mustQC(t, 3, "ledger", "verify", "--block-store", dst)
		if !regexp.MustCompile(`result\s+FAILED at block `+strconv.FormatUint(where.Block, 10)+`\b`).MatchString(table.stdout) ||
			!strings.Contains(table.stderr, "data_hash check failed") {
			t.Fatalf("table:\n%s\n%s", table.stdout, table.stderr)
		}
		t.Logf("tampered block %d detected:\n%s", where.Block, table.stdout)
	})

	t.Run("data hash rewritten to match: the orderers' signature breaks", func(t *testing.T) {
		dst := copyStore(t)
		path, file := fileWith(t, dst, []byte(f.authID))
		rec, at := locate(t, file, []byte(f.authID))
		file[at] ^= 0x01
		// Recompute the block's data hash over its (changed) transactions
		// and write it into the header, as a careful forger would.
		b := file[rec.start:rec.end]
		_, n := protowire.ConsumeVarint(b) // number
		hashAt := n
		_, n2 := protowire.ConsumeBytes(b[hashAt:]) // data hash
		p := hashAt + n2
		_, n3 := protowire.ConsumeBytes(b[p:]) // previous hash
		p += n3
		count, n4 := protowire.ConsumeVarint(b[p:])
		p += n4
		h := sha256.New()
		for i := uint64(0); i < count; i++ {
			env, w := protowire.ConsumeBytes(b[p:])
			h.Write(env)
			p += w
		}
		_, lw := protowire.ConsumeVarint(b[hashAt:]) // the hash's length prefix
		copy(b[hashAt+lw:hashAt+lw+32], h.Sum(nil))
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		// The header the orderers signed no longer matches: the block
		// itself fails, before the next block's link is looked at.
		rep := jsonOf[report](t, mustQC(t, 3, "ledger", "verify", "--block-store", dst, "--json"))
		if rep.Failure.Block != where.Block || rep.Failure.Check != "orderer_signature" {
			t.Fatalf("report %+v", rep)
		}
		// With the signatures not checked, the next block's link breaks.
		rep = jsonOf[report](t, mustQC(t, 3, "ledger", "verify", "--block-store", dst, "--hashes-only", "--json"))
		if rep.Failure.Block != where.Block+1 || rep.Failure.Check != "previous_hash" {
			t.Fatalf("report with --hashes-only %+v", rep)
		}
		if _, err := hex.DecodeString(rep.Failure.Got); err != nil || len(rep.Failure.Got) != 64 {
			t.Fatalf("got %q: %v", rep.Failure.Got, err)
		}
	})
}

// TestCLIReconcileAndDecisions: a loan made and used through the gateways
// reconciles clean — every receipt of the operator and every delivery the
// bank received has its access on the ledger, with the same digest — and
// its grant re-verifies from the ledger alone.
func TestCLIReconcileAndDecisions(t *testing.T) {
	// The period starts now, not earlier: an access the test before
	// recorded straight on the ledger (no gateway receipt) less than a
	// second ago would otherwise fall in it and be reported, rightly.
	since := time.Now().UTC().Format(time.RFC3339Nano)
	person := demoCitizens(t)[3]
	bank, _, a := lendingGrant(t, person, 2, "reconcile")
	for i := range 2 {
		if code, raw := fetch(bank, a.ID, []string{"tax"}, "reconcile-fetch-"+strconv.Itoa(i)); code != 200 {
			t.Fatalf("fetch %d: %d %s", i, code, raw)
		}
	}
	awaitCommitted(ctxFor(t), t, audit)
	until := time.Now().UTC().Add(time.Second).Format(time.RFC3339Nano)

	r := mustQC(t, 0, "audit", "reconcile", "--since", since, "--until", until, "--slack", "1s")
	t.Logf("reconcile:\n%s", r.stdout)
	r = mustQC(t, 0, "audit", "decisions", "--institution", "BankMSP", "--since", since, "--until", until, "--min-key-age", "0s")
	if !strings.Contains(r.stdout, "1 decision(s) verified, 0 finding(s)") {
		t.Errorf("decisions of the period:\n%s", r.stdout)
	}
	// A grant signed with a key enrolled seconds before is flagged.
	mustQC(t, 3, "audit", "decisions", "--institution", "BankMSP", "--since", since, "--until", until, "--min-key-age", "1h")
	// The history names who submitted each change.
	h := mustQC(t, 0, "audit", "history", "auth", a.ID)
	for _, want := range []string{"BankMSP", "BureauMSP"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("history lacks the submitter %s:\n%s", want, h.stdout)
		}
	}
}
