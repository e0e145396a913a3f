package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
	"github.com/quanchain/quanchain/cli/internal/operator"
	chaincodetest "github.com/quanchain/quanchain/ledger/ledgertest"
)

// auditorPeer evaluates on the in-process chaincode as the auditor's peer;
// the query system chaincode's answers (blocks and transactions) come from
// blocks, a fake chain.
type auditorPeer struct {
	net    *chaincodetest.Network
	blocks *ledgertest.Fake
}

func (a auditorPeer) Evaluate(ctx context.Context, org, chaincode, name string, args ...string) ([]byte, error) {
	if chaincode == "qscc" {
		return a.blocks.Evaluate(ctx, org, chaincode, name, args...)
	}
	return a.net.Evaluate(ctx, "AuditMSP", name, args...)
}

func (a auditorPeer) client() *cmdutil.Ledger {
	return cmdutil.NewLedger(a, chaincodetest.Channel, chaincodetest.Chaincode, "AuditMSP")
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// clock is a ledger clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var day = time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)

// loanRequest is a bank's request within the demo CREDIT_ASSESSMENT
// ceilings (30 days, 3 uses, 730 days of data).
func loanRequest(id, ref string) model.AuthorizationRequest {
	return model.AuthorizationRequest{ID: id, CitizenRef: ref, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: day.Add(7 * 24 * time.Hour).Format(time.RFC3339), MaxUses: 3, ReferenceHash: sha("LOAN-" + id),
		Subject: chaincodetest.SubjectFor("BankMSP", ref)}
}

// deliveryFixture is a ledger with three deliveries to the bank under one
// granted authorisation: acc-1, acc-2, acc-3, an hour apart.
func deliveryFixture(t *testing.T) (auditorPeer, []model.Access) {
	t.Helper()
	c := &clock{t: day}
	net := chaincodetest.NewDemo(t, c.now)
	ctx := context.Background()
	ref := sha("citizen-1")
	if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest("loan-1", ref)); err != nil {
		t.Fatal(err)
	}
	dev, err := net.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Decide(ctx, dev, "loan-1", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	var accs []model.Access
	for i := 1; i <= 3; i++ {
		c.set(day.Add(time.Duration(i) * time.Hour))
		id := "acc-" + strconv.Itoa(i)
		a, err := net.Ledger("BureauMSP").RecordAccess(ctx, model.AccessRequest{ID: id, AuthorizationID: "loan-1",
			Requester: "BankMSP", Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: sha("delivery " + id), RecordCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		full, err := net.Ledger("AuditMSP").GetAccess(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		accs = append(accs, *full)
	}
	return auditorPeer{net: net, blocks: ledgertest.NewFake(nil)}, accs
}

// entry is the log entry a gateway keeps of access a, written a moment
// before (a receipt) or after (a received delivery) its transaction.
func entry(a model.Access, served bool) operator.DeliveryLogEntry {
	at, _ := time.Parse(time.RFC3339Nano, a.AccessedAt)
	e := operator.DeliveryLogEntry{AccessID: a.ID, AuthorizationID: a.AuthorizationID, Requester: a.Requester, Digest: a.Digest, TxID: a.TxID}
	if served {
		e.Provider = a.Provider
		at = at.Add(-200 * time.Millisecond)
	} else {
		at = at.Add(300 * time.Millisecond)
	}
	e.At = at.Format(time.RFC3339Nano)
	return e
}

// logServer is a gateway's admin API serving a delivery log, two entries
// a page, to the admin client "auditor".
type logServer struct {
	*httptest.Server
	org, side string
	entries   []operator.DeliveryLogEntry
	queries   []string
}

func newLogServer(t *testing.T, org, side string, entries ...operator.DeliveryLogEntry) *logServer {
	t.Helper()
	s := &logServer{org: org, side: side, entries: entries}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/admin/v1/oauth/token":
			_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"Bearer","expires_in":300}`))
		case "/admin/v1/deliveries":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":{"code":"INVALID_TOKEN","message":"no"}}`))
				return
			}
			q := r.URL.Query()
			s.queries = append(s.queries, q.Get("since")+"/"+q.Get("until"))
			side := s.side
			if side == "both" {
				// Each side's entries are those of its own direction.
				if side = q.Get("side"); side == "" {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":{"code":"SIDE_REQUIRED","message":"name the side"}}`))
					return
				}
			}
			var entries []operator.DeliveryLogEntry
			for _, e := range s.entries {
				if (side == "served") == (e.Provider != "") {
					entries = append(entries, e)
				}
			}
			from, _ := strconv.Atoi(q.Get("cursor"))
			page := operator.DeliveryLogPage{Organization: s.org, Side: side, Items: []operator.DeliveryLogEntry{}}
			for i := from; i < len(entries) && i < from+2; i++ {
				page.Items = append(page.Items, entries[i])
			}
			if from+2 < len(entries) {
				page.NextCursor = strconv.Itoa(from + 2)
			}
			_ = json.NewEncoder(w).Encode(page)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// reconcile runs `qc audit reconcile` with args against the peer and the
// gateways, and returns its exit code and output.
func reconcile(t *testing.T, peer auditorPeer, args ...string) (int, string) {
	t.Helper()
	f, out, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
	var opts *ReconcileOptions
	if err := execute(NewCmdReconcile(f, func(o *ReconcileOptions) error { opts = o; return nil }), args...); err != nil {
		t.Fatal(err)
	}
	opts.Ledger = func(context.Context) (*cmdutil.Ledger, error) { return peer.client(), nil }
	opts.AdminClient = func(a cmdutil.AdminFlags) (*operator.Admin, error) {
		if a.ClientID != "auditor" {
			t.Errorf("admin client %+v", a)
		}
		return operator.NewAdmin(a.Gateway, a.ClientID, a.ClientSecret), nil
	}
	err := reconcileRun(opts)
	code := 0
	if err != nil {
		code = 1
		var fc *cmdutil.FailedCheckError
		if errors.As(err, &fc) {
			code = 3
		}
	}
	return code, out.String()
}

func TestReconcile(t *testing.T) {
	peer, accs := deliveryFixture(t)
	period := []string{"--since", "2026-11-05", "--until", "2026-11-05", "--client-id", "auditor", "--client-secret", "s"}

	t.Run("clean", func(t *testing.T) {
		op := newLogServer(t, "BureauMSP", "served", entry(accs[0], true), entry(accs[1], true), entry(accs[2], true))
		bank := newLogServer(t, "BankMSP", "received", entry(accs[0], false), entry(accs[2], false), entry(accs[1], false))
		code, out := reconcile(t, peer, append(period, "--gateway", op.URL, "--gateway", bank.URL)...)
		if code != 0 || !strings.Contains(out, "result: every delivery kept by the gateways is on the ledger") ||
			!strings.Contains(out, "BureauMSP     served    3        3         3") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		// The gateways' logs are read 10 minutes wider than the period.
		if len(op.queries) != 2 || op.queries[0] != "2026-11-04T23:50:00Z/2026-11-06T00:09:59.999Z" {
			t.Fatalf("queries %v", op.queries)
		}
	})

	t.Run("findings", func(t *testing.T) {
		tampered := entry(accs[1], true)
		tampered.Digest = sha("something else")
		ghost := entry(accs[0], true)
		ghost.AccessID, ghost.TxID = "acc-9", ""
		// Written in the slack before the period: another period's, not a finding.
		early := ghost
		early.AccessID, early.At = "acc-0", "2026-11-04T23:55:00Z"
		op := newLogServer(t, "BureauMSP", "served", early, entry(accs[0], true), tampered, ghost)
		wrongTx := entry(accs[2], false)
		wrongTx.TxID = strings.Repeat("e", 64)
		bank := newLogServer(t, "BankMSP", "received", entry(accs[0], false), entry(accs[1], false), wrongTx)
		code, out := reconcile(t, peer, append(period, "--gateway", op.URL, "--gateway", bank.URL, "--json")...)
		var rec Reconciliation
		if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 3 {
			t.Fatalf("exit %d, %v:\n%s", code, err, out)
		}
		var got []string
		for _, f := range rec.Findings {
			got = append(got, f.Kind+" "+f.Organization+" "+f.AccessID+" "+f.TxID)
			if f.Detail == "" || f.AuthorizationID != "loan-1" || f.Requester != "BankMSP" {
				t.Errorf("finding %+v", f)
			}
		}
		want := []string{
			DigestMismatch + " BureauMSP acc-2 " + accs[1].TxID,
			ReceiptWithoutAccess + " BureauMSP acc-9 ",
			AccessWithoutReceipt + " BureauMSP acc-3 " + accs[2].TxID,
			ReceiptTransaction + " BankMSP acc-3 " + accs[2].TxID,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(rec.Gateways) != 2 || rec.Gateways[0].Entries != 3 || rec.Gateways[0].Matched != 1 || rec.Gateways[1].Matched != 2 {
			t.Fatalf("gateways %+v", rec.Gateways)
		}

		code, out = reconcile(t, peer, append(period, "--gateway", op.URL)...)
		for _, want := range []string{"DIGEST_MISMATCH", "acc-2", "the gateway's digest " + tampered.Digest + ", the ledger's " + accs[1].Digest,
			"RECEIPT_WITHOUT_ACCESS", "the receipt names no transaction", "ACCESS_WITHOUT_RECEIPT", "3 FINDING(S)"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if code != 3 {
			t.Fatalf("exit %d", code)
		}
	})

	t.Run("an entry of the period whose access committed after it", func(t *testing.T) {
		// acc-2's receipt written within the period, its access (11:00)
		// after it: fetched by id and matched; acc-3's receipt is in the
		// slack and its access outside the period: another period's.
		late := entry(accs[1], true)
		late.At = "2026-11-05T10:29:00Z"
		op := newLogServer(t, "BureauMSP", "served", entry(accs[0], true), late, entry(accs[2], true))
		code, out := reconcile(t, peer, "--since", "2026-11-05T09:00:00Z", "--until", "2026-11-05T10:30:00Z", "--slack", "2h",
			"--client-id", "auditor", "--client-secret", "s", "--gateway", op.URL, "--json")
		var rec Reconciliation
		if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 0 || rec.Gateways[0].Entries != 2 || rec.Gateways[0].Matched != 2 ||
			rec.Gateways[0].Accesses != 1 {
			t.Fatalf("exit %d, %v:\n%s", code, err, out)
		}
	})

	t.Run("a gateway that serves and receives", func(t *testing.T) {
		// BankMSP as a provider too: it served nothing, so every access it
		// received is reconciled, and the served side is empty.
		both := newLogServer(t, "BankMSP", "both", entry(accs[0], false), entry(accs[1], false), entry(accs[2], false))
		code, out := reconcile(t, peer, append(period, "--gateway", both.URL, "--json")...)
		var rec Reconciliation
		if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 0 || len(rec.Gateways) != 2 ||
			rec.Gateways[0].Side != "served" || rec.Gateways[0].Entries != 0 || rec.Gateways[1].Side != "received" || rec.Gateways[1].Matched != 3 {
			t.Fatalf("exit %d, %v:\n%s", code, err, out)
		}
	})

	t.Run("flags", func(t *testing.T) {
		f, _, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
		for _, args := range [][]string{{"--gateway", "ftp://x"}, {"--slack", "-1m"}, {"--since", "2026-11-06", "--until", "2026-11-05"}} {
			var ue *cmdutil.UsageError
			if err := execute(NewCmdReconcile(f, func(*ReconcileOptions) error { return nil }), args...); !errors.As(err, &ue) {
				t.Errorf("%q: %v, want a usage error", args, err)
			}
		}
	})
}
