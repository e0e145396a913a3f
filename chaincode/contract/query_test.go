package contract_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// pageAll follows bookmarks until the end and returns every item.
func pageAll[T any](t *testing.T, e *testEnv, size int, fn string, args ...string) ([]T, int) {
	t.Helper()
	var all []T
	bookmark, pages := "", 0
	for {
		out, err := e.query(auditMSP, fn, append(append([]string{}, args...), strconv.Itoa(size), bookmark)...)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		page := decode[model.Page[T]](t, out)
		if len(page.Items) > size {
			t.Fatalf("%s returned %d items for page size %d", fn, len(page.Items), size)
		}
		all = append(all, page.Items...)
		pages++
		if page.Bookmark == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		bookmark = page.Bookmark
	}
}

func TestListings(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref, other := citizenRef(1), citizenRef(2)
	phone := newDevice(t)
	e.enrol(ref, phone)
	// 24 requests for ref (every third granted), 3 for another citizen, one
	// request per minute.
	for i := 0; i < 27; i++ {
		who := ref
		if i%7 == 6 {
			who = other
		}
		id := fmt.Sprintf("auth-%02d", i)
		e.request(bankMSP, lendingRequest(id, who))
		if who == ref && i%3 == 0 {
			e.mustDecide(id, phone, model.ActionGrant)
			e.must(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-"+id, id, bankMSP, "tax")))
		}
		e.now = e.now.Add(time.Minute)
	}

	auths, pages := pageAll[model.Authorization](t, e, 5, "consent:ListAuthorizationsByCitizen", bankMSP, ref, "")
	if len(auths) != 24 || pages != 5 {
		t.Fatalf("by citizen: %d items in %d pages", len(auths), pages)
	}
	for i := 1; i < len(auths); i++ {
		if auths[i].RequestedAt < auths[i-1].RequestedAt {
			t.Fatal("by citizen: not in request order")
		}
		if auths[i].CitizenRef != ref {
			t.Fatal("by citizen: another citizen's authorisation")
		}
	}
	granted, _ := pageAll[model.Authorization](t, e, 2, "consent:ListAuthorizationsByCitizen", bankMSP, ref, "GRANTED")
	if len(granted) != 8 {
		t.Fatalf("granted: %d", len(granted))
	}
	for _, a := range granted {
		if a.Status != model.AuthGranted {
			t.Fatalf("status filter let %s through", a.Status)
		}
	}
	all, _ := pageAll[model.Authorization](t, e, 100, "consent:ListAuthorizationsByRequester", bankMSP, "", "", "")
	if len(all) != 27 {
		t.Fatalf("by requester: %d", len(all))
	}
	since := t0.Add(10 * time.Minute).Format(time.RFC3339)
	until := t0.Add(19 * time.Minute).Format(time.RFC3339)
	window, _ := pageAll[model.Authorization](t, e, 3, "consent:ListAuthorizationsByRequester", bankMSP, "", since, until)
	if len(window) != 10 || window[0].ID != "auth-10" || window[9].ID != "auth-19" {
		t.Fatalf("window: %d items", len(window))
	}
	none, _ := pageAll[model.Authorization](t, e, 10, "consent:ListAuthorizationsByRequester", insurerMSP, "", "", "")
	if len(none) != 0 {
		t.Fatalf("insurer has %d", len(none))
	}

	accs, _ := pageAll[model.Access](t, e, 4, "access:ListAccessesByCitizen", bankMSP, ref, "", "")
	if len(accs) != 8 {
		t.Fatalf("accesses by citizen: %d", len(accs))
	}
	accs, _ = pageAll[model.Access](t, e, 4, "access:ListAccessesByRequester", bankMSP, since, until)
	if len(accs) != 3 || accs[0].AuthorizationID != "auth-12" || accs[2].AuthorizationID != "auth-18" {
		t.Fatalf("accesses in window: %+v", accs)
	}
	accs, _ = pageAll[model.Access](t, e, 4, "access:ListAccessesByAuthorization", "auth-03")
	if len(accs) != 1 || accs[0].ID != "acc-auth-03" {
		t.Fatalf("accesses by authorisation: %+v", accs)
	}

	insts, _ := pageAll[model.Institution](t, e, 2, "registry:ListInstitutions")
	cats, _ := pageAll[model.Category](t, e, 4, "registry:ListCategories")
	purps, _ := pageAll[model.Purpose](t, e, 1, "registry:ListPurposes")
	if len(insts) != 5 || len(cats) != len(demoCategories) || len(purps) != len(demoPurposes) {
		t.Fatalf("registry listings: %d institutions, %d categories, %d purposes", len(insts), len(cats), len(purps))
	}

	bad := []struct {
		name string
		fn   string
		args []string
	}{
		{"page size too big", "consent:ListAuthorizationsByCitizen", []string{bankMSP, ref, "", "101", ""}},
		{"negative page size", "registry:ListCategories", []string{"-1", ""}},
		{"bad status", "consent:ListAuthorizationsByCitizen", []string{bankMSP, ref, "HAPPY", "10", ""}},
		{"bad citizen", "consent:ListAuthorizationsByCitizen", []string{bankMSP, "370102199003071234", "", "10", ""}},
		{"bad requester", "consent:ListAuthorizationsByRequester", []string{"not an msp", "", "", "", "10", ""}},
		{"bad time", "access:ListAccessesByRequester", []string{bankMSP, "yesterday", "", "10", ""}},
		{"inverted window", "access:ListAccessesByRequester", []string{bankMSP, until, since, "10", ""}},
		{"forged bookmark", "consent:ListAuthorizationsByCitizen", []string{bankMSP, ref, "", "10", "AGNpdGl6ZW4A"}},
		{"garbage bookmark", "registry:ListInstitutions", []string{"10", "!!"}},
		{"bad access citizen", "access:ListAccessesByCitizen", []string{bankMSP, "x", "", "", "10", ""}},
		{"bad access auth", "access:ListAccessesByAuthorization", []string{"x", "10", ""}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.query(auditMSP, tc.fn, tc.args...)
			wantCode(t, err, model.CodeInvalidArgument)
		})
	}
}

func TestHistory(t *testing.T) {
	e, phone := grantedEnv(t)
	e.mustDecide("auth-1", phone, model.ActionPause)
	e.mustDecide("auth-1", phone, model.ActionRevoke)
	out := e.must(auditMSP, "registry:History", "auth", "auth-1")
	hist := decode[[]model.HistoryEntry](t, out)
	var statuses []model.AuthStatus
	for i := len(hist) - 1; i >= 0; i-- { // newest first, as Fabric returns it
		h := hist[i]
		statuses = append(statuses, decode[model.Authorization](t, h.Value).Status)
	}
	want := []model.AuthStatus{model.AuthPending, model.AuthGranted, model.AuthPaused, model.AuthRevoked}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("history %v, want %v", statuses, want)
	}
	cfg := decode[[]model.HistoryEntry](t, e.must(auditMSP, "registry:History", "config", ""))
	if len(cfg) != 1 {
		t.Fatalf("config history %+v", cfg)
	}
	_, err := e.query(auditMSP, "registry:History", "secrets", "x")
	wantCode(t, err, model.CodeInvalidArgument)
	_, err = e.query(auditMSP, "registry:History", "auth", "")
	wantCode(t, err, model.CodeInvalidArgument)
}

// TestDispatcher drives the chaincode's argument and metadata handling.
func TestDispatcher(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	meta, err := e.query(auditMSP, "org.hyperledger.fabric:GetMetadata")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string   `json:"name"`
				Tags []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal([]byte(meta), &md); err != nil {
		t.Fatal(err)
	}
	evaluate := map[string]bool{}
	for contract, c := range md.Contracts {
		for _, tx := range c.Transactions {
			for _, tag := range tx.Tags {
				if tag == "EVALUATE" {
					evaluate[contract+":"+tx.Name] = true
				}
			}
		}
	}
	for _, fn := range []string{"registry:GetInstitution", "consent:GetAuthorization", "anchor:VerifyProof", "anchor:VerifyProofs", "access:ListAccessesByRequester"} {
		if !evaluate[fn] {
			t.Errorf("%s is not marked as an evaluate transaction", fn)
		}
	}
	for _, fn := range []string{"registry:Bootstrap", "consent:Decide", "anchor:AnchorBatch", "access:RecordAccess"} {
		if evaluate[fn] {
			t.Errorf("%s is marked as an evaluate transaction", fn)
		}
	}
	if len(md.Contracts["consent"].Transactions) == 0 || len(md.Contracts["access"].Transactions) == 0 {
		t.Fatal("contracts missing from metadata")
	}

	tests := []struct {
		name string
		fn   string
		args []string
	}{
		{"unknown function", "consent:Steal", nil},
		{"unknown contract", "bank:Withdraw", nil},
		{"too few arguments", "registry:GetInstitution", nil},
		{"too many arguments", "registry:GetInstitution", []string{"a", "b"}},
		{"page size not a number", "registry:ListCategories", []string{"ten", ""}},
		{"helper not exported as a transaction", "registry:GetEvaluateTransactions", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.query(auditMSP, tc.fn, tc.args...); err == nil {
				t.Fatalf("%s accepted", tc.fn)
			}
		})
	}
	// The default contract is the registry.
	if _, err := e.query(auditMSP, "GetConfig"); err != nil {
		t.Fatalf("default contract: %v", err)
	}
}

// scenario runs a full lending flow with fixed keys and returns the ledger's
// bytes; used to show the chaincode's output depends on nothing but its input.
func scenario(t *testing.T, phone *device) [][]byte {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	e.enrol(ref, phone)
	e.request(bankMSP, lendingRequest("auth-1", ref))
	p := e.payload("auth-1", model.ActionGrant)
	sig := phone.signRaw(t, p)
	e.must(opMSP, "consent:Decide", "auth-1", b64std(p), sig, phone.kid)
	e.must(opMSP, "access:RecordAccess", mustJSON(accessRequest("acc-1", "auth-1", bankMSP, "tax", "housing_fund")))
	e.must(opMSP, "anchor:AnchorRecord", "tax", hash("r1"))
	out := [][]byte{}
	for _, k := range e.ledger.Keys() {
		out = append(out, []byte(k), e.ledger.Get(k))
	}
	for _, ev := range e.ledger.Events() {
		out = append(out, ev.GetPayload())
	}
	_ = sig
	return out
}

func TestDeterminism(t *testing.T) {
	phone := newDevice(t)
	a, b := scenario(t, phone), scenario(t, phone)
	// Signatures are randomised by the device, so compare everything but
	// the decision receipts, which embed them.
	strip := func(xs [][]byte) [][]byte {
		var out [][]byte
		for _, x := range xs {
			var m map[string]json.RawMessage
			if json.Unmarshal(x, &m) == nil {
				delete(m, "last_decision")
				x, _ = json.Marshal(m)
			}
			out = append(out, x)
		}
		return out
	}
	a, b = strip(a), strip(b)
	if len(a) != len(b) {
		t.Fatalf("runs wrote %d and %d items", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("runs differ at item %d:\n%s\n%s", i, a[i], b[i])
		}
	}
}
