package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestBankLearnsNothingOfTheInsurersClaim: an insurer settles a claim on a
// citizen who is also the bank's customer — records and a DECEASED_BEFORE
// answer — and the bank, reading everything its own peer holds (the
// blocks, the state database, the private data store, the transient
// store, the history), finds nothing of it: not the citizenRef the insurer
// knows the citizen by, the claim's purpose or categories, the predicate,
// the reference or the deliveries' digests. The chaincode refuses the bank
// the insurer's records. As a control, the same scan finds the bank's own
// loan in its own store.
func TestBankLearnsNothingOfTheInsurersClaim(t *testing.T) {
	people := demoCitizens(t)
	person := people[2]
	citizen := citizenWithDevice(t, person, "privacy")
	insurer := institution(t, insurerURL, "insurer")
	claim := request(t, insurer, person, "CLAIM_SETTLEMENT", []string{"death_registration", "medical_settlement"},
		"2024-01-01", "2026-10-31", 3, "privacy-claim")
	citizen.decide(claim.ID, model.ActionGrant, "grant the claim")
	var recs, ans dataResult
	insurer.must("POST", "/v1/data-requests", map[string]any{"authorization_id": claim.ID, "categories": []string{"medical_settlement"}},
		&recs, 200, "Idempotency-Key", id("privacy-records"))
	insurer.must("POST", "/v1/data-requests", map[string]any{
		"authorization_id": claim.ID, "categories": []string{"death_registration"}, "mode": "predicate",
		"predicate": map[string]any{"code": "DECEASED_BEFORE", "params": map[string]string{"date": "2026-10-01"}},
	}, &ans, 200, "Idempotency-Key", id("privacy-predicate"))

	bank, _, loan := lendingGrant(t, person, 2, "privacy-loan")
	if code, raw := fetch(bank, loan.ID, []string{"tax"}, "privacy-loan-fetch"); code != 200 {
		t.Fatalf("the bank's own delivery: %d %s", code, raw)
	}

	// What the auditor reads of both (it may read every collection).
	full := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", claim.ID))
	mine := decode[model.Authorization](t, as(t, audit).mustEvaluate("consent:GetAuthorization", loan.ID))
	accs := decode[model.Page[model.Access]](t, as(t, audit).mustEvaluate("access:ListAccessesByAuthorization", claim.ID, "10", ""))
	if len(accs.Items) != 2 || full.CitizenRef == "" || full.Purpose != "CLAIM_SETTLEMENT" {
		t.Fatalf("the auditor reads claim %+v with %d deliveries", full, len(accs.Items))
	}
	secrets := map[string]string{
		"the insurer's citizenRef": full.CitizenRef,
		"the claim's reference":    full.ReferenceHash,
		"the claim's purpose":      `"purpose":"CLAIM_SETTLEMENT","categories"`,
		"the claim's categories":   `"categories":["death_registration"`,
		"the predicate":            `"predicate":"DECEASED_BEFORE"`,
	}
	for _, a := range accs.Items {
		secrets["the digest of delivery "+a.ID] = a.Digest
	}
	if full.CitizenRef == mine.CitizenRef {
		t.Logf("note: the bank and the insurer know the citizen by one citizenRef; its absence below is not checked")
		delete(secrets, "the insurer's citizenRef")
	}

	// Everything the bank's peer holds, once it has the last block.
	awaitCommitted(ctxFor(t), t, "BankMSP")
	held := peerStore(t, "peer0.bank")
	for what, s := range secrets {
		for _, b := range held {
			if bytes.Contains(b.data, []byte(s)) {
				t.Errorf("the bank's peer holds %s (%s) in %s", what, s, b.where)
				break
			}
		}
	}
	for what, s := range map[string]string{"its own citizenRef": mine.CitizenRef, "its own reference": mine.ReferenceHash} {
		found := false
		for _, b := range held {
			found = found || bytes.Contains(b.data, []byte(s))
		}
		if !found {
			t.Errorf("control: the scan of the bank's peer does not find %s, so it proves nothing", what)
		}
	}

	// The chaincode answers the bank nothing of the claim either.
	for _, q := range [][]string{
		{"consent:GetAuthorization", claim.ID},
		{"consent:ListAuthorizationsByCitizen", "InsurerMSP", full.CitizenRef, "", "10", ""},
		{"consent:ListAuthorizationsByRequester", "InsurerMSP", "", "", "", "10", ""},
		{"access:ListAccessesByAuthorization", claim.ID, "10", ""},
		{"access:GetAccess", accs.Items[0].ID},
		{"registry:GetCitizen", "InsurerMSP", full.CitizenRef},
	} {
		_, err := as(t, "BankMSP").evaluate(q[0], q[1:]...)
		if chaincodeCode(err) != model.CodeForbiddenMSP {
			t.Errorf("%s as the bank: %v, want FORBIDDEN_MSP", q[0], describe(err))
		}
	}
}

// held is one byte string a peer keeps and where.
type held struct {
	where string
	data  []byte
}

// peerStore returns every byte string a peer keeps under its ledger
// directory: each key and value of its LevelDB databases (read from a
// copy, as they are compressed on disk) and the raw bytes of every other
// file (the block files).
func peerStore(t *testing.T, peer string) []held {
	t.Helper()
	root := filepath.Join(testNet.StateDir(), "data", peer, "ledger")
	var out []held
	var dbs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(path, "CURRENT")); err == nil {
				dbs = append(dbs, path)
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, held{where: strings.TrimPrefix(path, root), data: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dbs) < 4 {
		t.Fatalf("found %d LevelDB databases under %s, want the state, history, private data and transient stores", len(dbs), root)
	}
	for _, db := range dbs {
		copyDir := filepath.Join(t.TempDir(), "db")
		if err := exec.Command("cp", "-r", db, copyDir).Run(); err != nil {
			t.Fatalf("copy %s: %v", db, err)
		}
		_ = os.Remove(filepath.Join(copyDir, "LOCK"))
		ldb, err := leveldb.OpenFile(copyDir, &opt.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("open a copy of %s: %v", db, err)
		}
		where := strings.TrimPrefix(db, root)
		it := ldb.NewIterator(nil, nil)
		for it.Next() {
			out = append(out, held{where: where, data: append(append([]byte(nil), it.Key()...), it.Value()...)})
		}
		it.Release()
		if err := it.Error(); err != nil {
			t.Fatalf("read %s: %v", db, err)
		}
		ldb.Close()
	}
	return out
}
