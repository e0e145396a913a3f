package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

type importFixture struct {
	h        *harness
	st       *store.Store
	operator *ledger.Ledger
}

// newImportHarness is the admin harness as the operator's gateway
// (BureauMSP) with a real digital safe that serves housing_fund and tax
// and anchors its batches on the ledger (ledger.BatchAnchorer). The
// ledger also knows medical_settlement (the operator's, served by no
// importer here) and court_judgement (CourtMSP's, another provider's).
func newImportHarness(t *testing.T, mod ...func(*config.Config)) *importFixture {
	t.Helper()
	h, cc := newAdminHarnessAs(t, "BureauMSP", mod...)
	operator := h.net.Ledger("BureauMSP")
	ctx := context.Background()
	if err := operator.RegisterInstitution(ctx, model.Institution{MSPID: "CourtMSP", Name: "济南市中级人民法院 Jinan Intermediate People's Court",
		Kind: model.KindProvider, Licence: "11370100004359000A"}); err != nil {
		t.Fatal(err)
	}
	if err := operator.RegisterCategory(ctx, model.Category{Code: "court_judgement", NameZH: "法院判决", NameEN: "Court judgements",
		ProviderMSP: "CourtMSP"}); err != nil {
		t.Fatal(err)
	}
	p, err := vault.NewPseudonymiser(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	im := &vault.Importer{Store: cc.Store, Pseudonymiser: p, Anchorer: ReportingAnchorer(ledger.BatchAnchorer{Ledger: operator}),
		Categories: []string{synth.HousingFund, synth.Tax}, BatchSize: 16}
	a, err := NewAdminAPI(AdminConfig{Clients: cc, Datasets: im})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Admin = a
	h.net.ClearCalls()
	return &importFixture{h: h, st: cc.Store, operator: operator}
}

// anchorings counts the batch anchorings submitted, whatever became of
// them.
func (f *importFixture) anchorings() int {
	n := 0
	for _, name := range f.h.submitted() {
		if name == "anchor:AnchorBatch" {
			n++
		}
	}
	return n
}

// housingFund is a synthetic dataset of a few citizens, far over the
// harness's 4 KiB body limit and under the import limit.
func housingFund(t *testing.T) []byte {
	t.Helper()
	seq, err := synth.Records(7, synth.Citizens(7, 4), []string{synth.HousingFund},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := synth.WriteJSONL(&buf, seq); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// safeEmpty reports whether nothing was stored or anchored.
func (f *importFixture) safeEmpty(t *testing.T) bool {
	t.Helper()
	ctx := context.Background()
	recs, err := f.st.UnanchoredRecords(ctx, synth.HousingFund, 10)
	if err != nil {
		t.Fatal(err)
	}
	batches, err := f.st.UnanchoredBatches(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs) == 0 && len(batches) == 0 && f.anchorings() == 0
}

func TestAdminImportDataset(t *testing.T) {
	f := newImportHarness(t)
	data := housingFund(t)
	lines := bytes.Count(data, []byte("\n"))
	w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusOK {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	res := decodeBody[importResult](t, w)
	wantBatches := (lines + 15) / 16
	if res.Category != synth.HousingFund || res.Records != lines || res.Inserted != lines || res.Duplicates != 0 ||
		res.Batches != wantBatches || len(res.Anchored) != wantBatches {
		t.Fatalf("result %+v (%d lines)", res, lines)
	}
	ctx := context.Background()
	for _, a := range res.Anchored {
		b, err := f.st.GetBatch(ctx, a.BatchID)
		onLedger, lerr := f.operator.GetBatch(ctx, a.BatchID)
		if err != nil || lerr != nil || b.AnchoredTxID != a.TxID || b.Root != a.Root || a.TxID != onLedger.TxID || onLedger.Root != a.Root {
			t.Fatalf("anchored %+v, stored %+v (%v), on the ledger %+v (%v)", a, b, err, onLedger, lerr)
		}
	}

	// Importing again stores and anchors nothing new.
	w = f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson; charset=utf-8")
	again := decodeBody[importResult](t, w)
	if w.Code != 200 || again.Inserted != 0 || again.Duplicates != lines || again.Batches != 0 || len(again.Anchored) != 0 {
		t.Fatalf("again: %d %+v", w.Code, again)
	}
}

func TestAdminImportIsAllOrNothing(t *testing.T) {
	data := housingFund(t)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	withLine := func(n int, line string) []byte {
		out := append([]string(nil), lines...)
		out[n-1] = line
		return []byte(strings.Join(out, "\n") + "\n")
	}
	good := lines[2]
	tests := []struct {
		name     string
		category string
		body     []byte
		headers  []string
		status   int
		code     string
		message  string
	}{
		{"bad date on line 3", "housing_fund", withLine(3, strings.Replace(good, `"record_date":"`, `"record_date":"2025-02-30`, 1)), nil, 400, CodeInvalidRecord, "line 3: "},
		{"malformed line 7", "housing_fund", withLine(7, `{"category":`), nil, 400, CodeInvalidRecord, "line 7: "},
		{"wrong category, last line", "housing_fund", withLine(len(lines), strings.Replace(good, `"housing_fund"`, `"tax"`, 1)), nil, 400, CodeInvalidRecord, fmt.Sprintf("line %d: ", len(lines))},
		{"bad ID number", "housing_fund", withLine(2, strings.Replace(good, `"citizen_id":"`, `"citizen_id":"X`, 1)), nil, 400, CodeInvalidRecord, "line 2: "},
		{"line too long", "housing_fund", withLine(4, `{"category":"housing_fund","pad":"`+strings.Repeat("x", 70<<10)+`"}`), nil, 400, CodeInvalidRecord, "line 4: "},
		{"empty", "housing_fund", []byte("\n \n"), nil, 400, CodeInvalidRecord, ""},
		{"not ndjson", "housing_fund", data, []string{"Content-Type", "application/json"}, 415, CodeUnsupportedMedia, ""},
		{"malformed category", "Housing-Fund", data, nil, 400, CodeInvalidArgument, ""},
		{"unknown category", "passport", data, nil, 422, string(model.CodeCategoryNotFound), ""},
		{"another provider's category", "court_judgement", data, nil, 403, string(model.CodeForbiddenMSP), ""},
		{"category not in this safe", "medical_settlement", data, nil, 422, CodeCategoryNotServed, ""},
		{"no token", "housing_fund", data, []string{"Authorization", ""}, 401, "MISSING_TOKEN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newImportHarness(t)
			w := f.h.do("POST", "/admin/v1/datasets/"+tt.category+"/import", string(tt.body),
				append([]string{"Content-Type", "application/x-ndjson"}, tt.headers...)...)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			msg := decodeBody[errorBody](t, w).Error.Message
			if !strings.HasPrefix(msg, tt.message) || strings.Contains(msg, "2025-02-30") || strings.Contains(msg, "citizen_id\":") {
				t.Fatalf("message %q, want %q…, without content", msg, tt.message)
			}
			if !f.safeEmpty(t) {
				t.Fatal("something was stored or anchored")
			}
		})
	}

	// Without the admin scope, nothing is even read.
	f := newImportHarness(t)
	f.h.token = adminToken(t, f.h)
	if w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson"); w.Code != 403 || !f.safeEmpty(t) {
		t.Fatalf("without the admin scope: %d %s", w.Code, w.Body)
	}
}

func TestAdminImportLimit(t *testing.T) {
	data := housingFund(t)
	limit := func(n int) func(*config.Config) { return func(c *config.Config) { c.ImportLimit = int64(n) } }
	f := newImportHarness(t, limit(len(data)-1))
	w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusRequestEntityTooLarge || errCode(t, w) != CodeBodyTooLarge || !f.safeEmpty(t) {
		t.Fatalf("over the import limit: %d %s", w.Code, w.Body)
	}
	f = newImportHarness(t, limit(len(data)))
	if w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson"); w.Code != 200 {
		t.Fatalf("at the import limit: %d %s", w.Code, w.Body)
	}
	// The import limit is the import route's only.
	w = f.h.do("POST", "/admin/v1/clients", `{"org_msp":"BankMSP","scopes":[`+strings.Repeat(`"admin",`, 1000)+`"admin"]}`)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("another admin route over the body limit: %d", w.Code)
	}
}

func TestAdminImportResumesAnchoring(t *testing.T) {
	f := newImportHarness(t)
	data := housingFund(t)
	failSubmits(f.h.net, ledgertest.ErrUnavailable)
	w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != string(ledger.CodeUnavailable) {
		t.Fatalf("ledger down: %d %s", w.Code, w.Body)
	}
	pending, err := f.st.UnanchoredBatches(context.Background(), 100)
	if err != nil || len(pending) == 0 {
		t.Fatalf("pending batches %v, %v", pending, err)
	}

	// The ledger is back, and the first batch did commit before (its
	// answer was lost): its ALREADY_EXISTS with the same root is success.
	failSubmits(f.h.net, nil)
	b := pending[0]
	earlier, err := f.operator.AnchorBatch(context.Background(), model.BatchAnchorRequest{BatchID: b.ID, Category: b.Category, Root: b.Root, LeafCount: b.LeafCount})
	if err != nil {
		t.Fatal(err)
	}
	w = f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	res := decodeBody[importResult](t, w)
	// Batches are anchored concurrently: the answer lists them as their
	// anchoring ended.
	i := slices.IndexFunc(res.Anchored, func(a anchoredBatch) bool { return a.BatchID == b.ID })
	if w.Code != 200 || res.Inserted != 0 || res.Batches != 0 || len(res.Anchored) != len(pending) || i < 0 || res.Anchored[i].TxID != earlier.TxID {
		t.Fatalf("resumed: %d %+v", w.Code, res)
	}
}

func TestAdminImportConflictingBatch(t *testing.T) {
	f := newImportHarness(t)
	data := housingFund(t)
	failSubmits(f.h.net, ledgertest.ErrUnavailable)
	f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	pending, _ := f.st.UnanchoredBatches(context.Background(), 1)
	// Another batch holds the id on the ledger: refused, never recorded
	// as anchored.
	failSubmits(f.h.net, nil)
	if _, err := f.operator.AnchorBatch(context.Background(), model.BatchAnchorRequest{BatchID: pending[0].ID, Category: pending[0].Category,
		Root: sha256Hex("another batch"), LeafCount: 1}); err != nil {
		t.Fatal(err)
	}
	w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(data), "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusConflict || errCode(t, w) != string(model.CodeAlreadyExists) {
		t.Fatalf("conflicting batch: %d %s", w.Code, w.Body)
	}
	if b, _ := f.st.GetBatch(context.Background(), pending[0].ID); b.AnchoredTxID != "" {
		t.Fatalf("conflicting batch recorded as anchored by %s", b.AnchoredTxID)
	}
}

func TestAdminImportBusy(t *testing.T) {
	f := newImportHarness(t, func(c *config.Config) { c.RequestTimeout = 50 * time.Millisecond })
	f.h.srv.Admin.importing <- struct{}{} // an import is running
	w := f.h.do("POST", "/admin/v1/datasets/housing_fund/import", string(housingFund(t)), "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeImportBusy || !f.safeEmpty(t) {
		t.Fatalf("busy: %d %s", w.Code, w.Body)
	}
}

// TestAdminImportOutlivesServerTimeouts uploads a dataset more slowly than
// the HTTP server's read and write timeouts and the request timeout allow
// any other request: the import route has its own (ImportTimeout), so the
// upload is read to its end and the import answered.
func TestAdminImportOutlivesServerTimeouts(t *testing.T) {
	f := newImportHarness(t, func(c *config.Config) {
		c.RequestTimeout, c.ImportTimeout = 200*time.Millisecond, time.Minute
	})
	srv := httptest.NewUnstartedServer(f.h.srv)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 600*time.Millisecond
	srv.Start()
	defer srv.Close()

	data := housingFund(t)
	lines := bytes.Count(data, []byte("\n"))
	body, upload := io.Pipe()
	go func() {
		// Four parts, 250 ms apart: a second in all.
		for i, n := 0, len(data)/4+1; i < len(data); i += n {
			time.Sleep(250 * time.Millisecond)
			if _, err := upload.Write(data[i:min(i+n, len(data))]); err != nil {
				return
			}
		}
		upload.Close()
	}()
	req, err := http.NewRequest("POST", srv.URL+"/admin/v1/datasets/housing_fund/import", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.h.token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	defer resp.Body.Close()
	var res importResult
	if err := json.NewDecoder(resp.Body).Decode(&res); resp.StatusCode != http.StatusOK || err != nil || res.Inserted != lines {
		t.Fatalf("import: %d, %+v (%v); want 200 and %d records", resp.StatusCode, res, err, lines)
	}
}
