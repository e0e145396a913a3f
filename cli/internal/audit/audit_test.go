package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
)

func execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.ExecuteContext(context.Background())
}

var (
	refA = strings.Repeat("a1", 32)
	refB = strings.Repeat("b2", 32)
)

func auth(id, ref, status string, requestedAt string) model.Authorization {
	return model.Authorization{ID: id, CitizenRef: ref, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, Status: model.AuthStatus(status), MaxUses: 2,
		RequestedAt: requestedAt, ValidUntil: "2026-12-31T00:00:00.000Z"}
}

func TestAuthorizationsFlags(t *testing.T) {
	f, _, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
	var got *AuthorizationsOptions
	cmd := NewCmdAuthorizations(f, func(o *AuthorizationsOptions) error { got = o; return nil })
	if err := execute(cmd, "--citizen", strings.ToUpper(refA), "--requester", "BankMSP", "--status", "granted", "--since", "2026-11-01", "--format", "csv"); err != nil {
		t.Fatal(err)
	}
	if got.CitizenRef != refA || got.Status != model.AuthGranted || got.Period.SinceArg() != "2026-11-01T00:00:00.000Z" || got.Output.Format != "csv" {
		t.Fatalf("options %+v", got)
	}
	for _, args := range [][]string{
		{"--citizen", refA, "--institution", "BankMSP"},
		{},
		{"--citizen", "370102199003071234"},
		{"--institution", "Bank MSP"},
		{"--institution", "BankMSP", "--status", "APPROVED"},
	} {
		var ue *cmdutil.UsageError
		if err := execute(NewCmdAuthorizations(f, func(*AuthorizationsOptions) error { return nil }), args...); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestAuthorizations(t *testing.T) {
	fake := ledgertest.NewFake(nil)
	fake.On("consent:ListAuthorizationsByCitizen", func(args []string) (any, error) {
		if args[0] != "BankMSP" || args[1] != refA || args[2] != "" {
			return nil, errors.New("unexpected arguments")
		}
		return model.Page[model.Authorization]{Items: []model.Authorization{
			auth("loan-1", refA, "GRANTED", "2026-10-31T23:59:59.999Z"),
			auth("loan-2", refA, "REVOKED", "2026-11-02T09:00:00.000Z"),
		}}, nil
	})
	var requesterArgs []string
	fake.On("consent:ListAuthorizationsByRequester", func(args []string) (any, error) {
		requesterArgs = args
		return model.Page[model.Authorization]{Items: []model.Authorization{auth("loan-2", refA, "REVOKED", "2026-11-02T09:00:00.000Z")}}, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)

	// The citizen listing has no time bounds on the ledger: qc applies them.
	if err := execute(NewCmdAuthorizations(f, nil), "--citizen", refA, "--requester", "BankMSP", "--since", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "loan-1") || !strings.Contains(out.String(), "loan-2") || !strings.Contains(out.String(), "a1a1a1a1…a1a1") ||
		!strings.Contains(out.String(), "1 authorisation(s)") {
		t.Fatalf("table:\n%s", out)
	}
	out.Reset()
	if err := execute(NewCmdAuthorizations(f, nil), "--institution", "BankMSP", "--status", "revoked", "--since", "2026-11-01", "--until", "2026-11-30", "--format", "csv"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(requesterArgs, "|") != "BankMSP|REVOKED|2026-11-01T00:00:00.000Z|2026-11-30T23:59:59.999Z|100|" {
		t.Fatalf("requester listing args %q", requesterArgs)
	}
	rows, err := csv.NewReader(out).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != "loan-2" || rows[1][1] != refA || rows[1][4] != "housing_fund;tax" {
		t.Fatalf("csv %q %v", rows, err)
	}
	out.Reset()
	if err := execute(NewCmdAuthorizations(f, nil), "--institution", "BankMSP", "--json"); err != nil {
		t.Fatal(err)
	}
	var list []model.Authorization
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0].CitizenRef != refA {
		t.Fatalf("json %s: %v", out, err)
	}
}

func TestAccesses(t *testing.T) {
	fake := ledgertest.NewFake(nil)
	acc := model.Access{ID: "acc-1", AuthorizationID: "loan-1", CitizenRef: refA, Requester: "BankMSP", Provider: "BureauMSP",
		Purpose: "CREDIT_ASSESSMENT", Categories: []string{"tax"}, Mode: model.ModePredicate, Predicate: "INCOME_ABOVE",
		UseNumber: 1, AccessedAt: "2026-11-05T10:00:00.000Z", TxID: "tx1"}
	fake.On("consent:GetAuthorization", func(args []string) (any, error) {
		if args[0] != "loan-1" {
			return nil, errors.New("chaincode response 500, AUTH_NOT_FOUND: authorisation " + args[0] + " does not exist")
		}
		return auth("loan-1", refA, "GRANTED", "2026-11-01T00:00:00.000Z"), nil
	})
	fake.On("access:ListAccessesByAuthorization", func(args []string) (any, error) {
		return model.Page[model.Access]{Items: []model.Access{acc}}, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)
	if err := execute(NewCmdAccesses(f, nil), "--authorization", "loan-1"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "predicate:INCOME_ABOVE") || !strings.Contains(out.String(), "acc-1") {
		t.Fatalf("table:\n%s", out)
	}
	out.Reset()
	if err := execute(NewCmdAccesses(f, nil), "--authorization", "loan-1", "--until", "2026-11-04"); err != nil ||
		!strings.Contains(out.String(), "no accesses") {
		t.Fatalf("%v: %s", err, out)
	}
	if err := execute(NewCmdAccesses(f, nil), "--authorization", "loan-9"); !cmdutil.IsNotFound(err) {
		t.Fatalf("unknown authorisation: %v", err)
	}
}

func TestHistory(t *testing.T) {
	// The peer holds t2 (the citizen's grant, submitted by the operator)
	// and t3 (submitted by the bank), not t1.
	fake := ledgertest.NewFake(ledgertest.Chain(
		[]ledgertest.Tx{{ID: "t0", Config: true}},
		[]ledgertest.Tx{{ID: "t2", Creator: "BureauMSP", Chaincode: "quanchain", Args: []string{"consent:Decide", "loan-1"}}},
		[]ledgertest.Tx{{ID: "t3", Creator: "BankMSP", Chaincode: "quanchain", Args: []string{"consent:Withdraw", "loan-1"}}},
	))
	fake.On("registry:History", func(args []string) (any, error) {
		if args[0] != "auth" {
			return []model.HistoryEntry{}, nil
		}
		return []model.HistoryEntry{
			{TxID: "t3", Timestamp: "2026-11-03T00:00:00.000Z", Value: `{"id":"loan-1","status":"REVOKED","seq":2,"updated_at":"3"}`},
			{TxID: "t2", Timestamp: "2026-11-02T00:00:00.000Z", Value: `{"id":"loan-1","status":"GRANTED","seq":1,"updated_at":"2"}`},
			{TxID: "t1", Timestamp: "2026-11-01T00:00:00.000Z", Value: `{"id":"loan-1","status":"PENDING","seq":0,"updated_at":"1"}`},
		}, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)
	if err := execute(NewCmdHistory(f, nil), "authorization", "loan-1"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"t3     BankMSP (User1@bankmsp)      seq 1→2, status GRANTED→REVOKED",
		"t2     BureauMSP (User1@bureaumsp)  seq 0→1", "t1     ?                            (created)", "3 version(s) of auth loan-1",
		"note: 1 transaction(s) not found on AuditMSP's peer: submitter unknown (?)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if err := execute(NewCmdHistory(f, nil), "auth", "loan-1", "--json"); err != nil {
		t.Fatal(err)
	}
	var versions []Version
	if err := json.Unmarshal(out.Bytes(), &versions); err != nil || len(versions) != 3 || len(versions[0].Changes) != 3 ||
		versions[0].Changes[1].Field != "status" || string(versions[0].Changes[1].From) != `"GRANTED"` ||
		versions[0].Creator == nil || versions[0].Creator.MSPID != "BankMSP" || versions[0].Creator.Subject != "User1@bankmsp" || versions[2].Creator != nil {
		t.Fatalf("json %s: %v", out, err)
	}
	if err := execute(NewCmdHistory(f, nil), "batch", "none-1"); !cmdutil.IsNotFound(err) {
		t.Fatalf("no history: %v", err)
	}
}

// history builds a key history, newest first, from authorisation states
// oldest first.
func history(states ...struct {
	tx, at string
	a      model.Authorization
}) []model.HistoryEntry {
	out := make([]model.HistoryEntry, len(states))
	for i, s := range states {
		b, _ := json.Marshal(s.a)
		out[len(states)-1-i] = model.HistoryEntry{TxID: s.tx, Timestamp: s.at, Value: string(b)}
	}
	return out
}

type state = struct {
	tx, at string
	a      model.Authorization
}

func TestCheckAccess(t *testing.T) {
	granted := auth("loan-1", refA, "GRANTED", "2026-11-01T00:00:00.000Z")
	pending := granted
	pending.Status = model.AuthPending
	paused := granted
	paused.Status = model.AuthPaused
	used := granted
	used.Uses = 1
	base := model.Access{ID: "acc-1", AuthorizationID: "loan-1", CitizenRef: refA, Requester: "BankMSP",
		Categories: []string{"tax"}, UseNumber: 1, AccessedAt: "2026-11-05T10:00:00.000Z", TxID: "tx-acc"}
	tests := []struct {
		name   string
		access func(a *model.Access)
		hist   []model.HistoryEntry
		want   []string
	}{
		{"clean", nil, history(state{"t1", "2026-11-01T00:00:00.000Z", pending}, state{"t2", "2026-11-02T00:00:00.000Z", granted},
			state{"tx-acc", "2026-11-05T10:00:00.000Z", used}), nil},
		{"state just before the access's own write decides", nil,
			history(state{"t1", "2026-11-01T00:00:00.000Z", paused}, state{"tx-acc", "2026-11-05T10:00:00.000Z", used}),
			[]string{FindingNotGranted}},
		{"without its own write, the last version at the access time", nil,
			history(state{"t1", "2026-11-01T00:00:00.000Z", granted}, state{"t9", "2026-11-06T00:00:00.000Z", paused}), nil},
		{"after valid_until", func(a *model.Access) { a.AccessedAt = "2027-01-02T00:00:00.000Z"; a.TxID = "x" },
			history(state{"t1", "2026-11-01T00:00:00.000Z", granted}), []string{FindingExpired}},
		{"category not covered", func(a *model.Access) { a.Categories = []string{"tax", "medical_settlement"} },
			history(state{"t1", "2026-11-01T00:00:00.000Z", granted}), []string{FindingCategoryNotCovered}},
		{"over max uses", func(a *model.Access) { a.UseNumber = 3 },
			history(state{"t1", "2026-11-01T00:00:00.000Z", granted}), []string{FindingUsesExceeded}},
		{"another requester and citizen", func(a *model.Access) { a.Requester = "InsurerMSP"; a.CitizenRef = refB },
			history(state{"t1", "2026-11-01T00:00:00.000Z", granted}), []string{FindingRequesterMismatch, FindingCitizenMismatch}},
		{"no authorisation", nil, nil, []string{FindingAuthorizationMissing}},
		{"authorisation only after the access", nil,
			history(state{"t1", "2026-11-06T00:00:00.000Z", granted}), []string{FindingAuthorizationMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			if tc.access != nil {
				tc.access(&a)
			}
			var got []string
			for _, f := range CheckAccess(a, tc.hist) {
				got = append(got, f.Code)
				if f.AccessID != a.ID || f.Detail == "" {
					t.Errorf("finding %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	fake := ledgertest.NewFake(nil)
	fake.On("registry:ListInstitutions", func(args []string) (any, error) {
		if args[1] == "" {
			return model.Page[model.Institution]{Items: []model.Institution{{MSPID: "InsurerMSP", Kind: model.KindInsurer},
				{MSPID: "BankMSP", Kind: model.KindBank}}, Bookmark: "n"}, nil
		}
		return model.Page[model.Institution]{Items: []model.Institution{{MSPID: "BureauMSP", Kind: model.KindProvider}}}, nil
	})
	// Requests denied as not the citizen's: one in the period, one before
	// it, and a plain denial.
	denied := func(id, reason, at string) model.Authorization {
		a := auth(id, refB, "DENIED", "2026-10-01T00:00:00.000Z")
		a.LastDecision = &model.Decision{Action: model.ActionDeny, Reason: reason, At: at}
		return a
	}
	var deniedArgs [][]string
	fake.On("consent:ListAuthorizationsByRequester", func(args []string) (any, error) {
		deniedArgs = append(deniedArgs, args)
		if args[0] != "BankMSP" {
			return model.Page[model.Authorization]{Items: []model.Authorization{}}, nil
		}
		return model.Page[model.Authorization]{Items: []model.Authorization{
			denied("loan-7", model.ReasonNotMe, "2026-11-03T08:00:00.000Z"),
			denied("loan-8", model.ReasonNotMe, "2026-10-03T08:00:00.000Z"),
			denied("loan-9", "", "2026-11-04T08:00:00.000Z"),
		}}, nil
	})
	granted := auth("loan-1", refA, "GRANTED", "2026-11-01T00:00:00.000Z")
	accs := map[string][]model.Access{
		"BankMSP": {
			{ID: "acc-1", AuthorizationID: "loan-1", CitizenRef: refA, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
				Categories: []string{"housing_fund", "tax"}, UseNumber: 1, AccessedAt: "2026-11-05T10:00:00.000Z", TxID: "tx-1"},
			{ID: "acc-2", AuthorizationID: "loan-1", CitizenRef: refA, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
				Categories: []string{"tax", "medical_settlement"}, UseNumber: 3, AccessedAt: "2026-11-06T10:00:00.000Z", TxID: "tx-2"},
		},
	}
	var periods []string
	fake.On("access:ListAccessesByRequester", func(args []string) (any, error) {
		periods = append(periods, args[1]+"/"+args[2])
		return model.Page[model.Access]{Items: accs[args[0]]}, nil
	})
	historyCalls := 0
	fake.On("registry:History", func(args []string) (any, error) {
		historyCalls++
		// The history is of the public record: the terms are not in it.
		pub := granted
		pub.CitizenRef, pub.Purpose, pub.Categories = "", "", nil
		return history(state{"t0", "2026-11-01T00:00:00.000Z", pub}), nil
	})
	fake.On("consent:GetAuthorization", func(args []string) (any, error) {
		if args[0] != "loan-1" {
			return nil, errors.New("unexpected authorisation")
		}
		return granted, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)

	err := execute(NewCmdReport(f, nil), "--since", "2026-11-01", "--until", "2026-11-30")
	var fc *cmdutil.FailedCheckError
	if !errors.As(err, &fc) || !strings.Contains(err.Error(), "2 finding(s) in 2 access(es)") {
		t.Fatalf("err %v\n%s", err, out)
	}
	if historyCalls != 1 {
		t.Errorf("authorisation history read %d times, want once", historyCalls)
	}
	if len(periods) != 3 || periods[0] != "2026-11-01T00:00:00.000Z/2026-11-30T23:59:59.999Z" {
		t.Errorf("periods %v", periods)
	}
	// Only the requesters are asked, for their DENIED authorisations.
	if len(deniedArgs) != 2 || deniedArgs[0][0] != "BankMSP" || deniedArgs[0][1] != "DENIED" || deniedArgs[1][0] != "InsurerMSP" {
		t.Errorf("denials read with %v", deniedArgs)
	}
	for _, want := range []string{
		"Access report, 2026-11-01T00:00:00.000Z to 2026-11-30T23:59:59.999Z, from AuditMSP's peer",
		"BankMSP      CREDIT_ASSESSMENT  tax                 2         1",
		"BankMSP      CREDIT_ASSESSMENT  housing_fund        1         1",
		"2 access(es), 3 institution(s) registered, 2 finding(s)",
		"acc-2   2026-11-06T10:00:00.000Z  BankMSP      loan-1         CATEGORY_NOT_COVERED  medical_settlement not in the authorised housing_fund,tax",
		"USES_EXCEEDED         use 3 of at most 2",
		"BankMSP: 1 request(s) denied by citizens as not theirs (NOT_ME)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out.Reset()
	_ = execute(NewCmdReport(f, nil), "--format", "csv")
	rows, err := csv.NewReader(out).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][len(rows[0])-1] != "findings" || rows[1][len(rows[1])-1] != "" ||
		rows[2][len(rows[2])-1] != "CATEGORY_NOT_COVERED;USES_EXCEEDED" {
		t.Fatalf("csv %q %v", rows, err)
	}

	out.Reset()
	_ = execute(NewCmdReport(f, nil), "--json")
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Accesses != 2 || len(rep.Findings) != 2 || len(rep.Summary) != 3 ||
		rep.Since != "" || rep.Institutions != 3 {
		t.Fatalf("json %s: %v", out, err)
	}
	// An open period counts both denials as not the citizen's.
	if len(rep.NotMe) != 1 || rep.NotMe[0] != (NotMeRow{Institution: "BankMSP", Denials: 2}) {
		t.Fatalf("not-me denials %+v", rep.NotMe)
	}

	// No findings: exit 0.
	delete(accs, "BankMSP")
	out.Reset()
	if err := execute(NewCmdReport(f, nil)); err != nil || !strings.Contains(out.String(), "no accesses in the period") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// An ID number given to --citizen is turned into the ref by the operator's
// pseudonym service, and appears nowhere in the output.
func TestCitizenIDNumber(t *testing.T) {
	const idNumber = "37011520010603615X"
	fake := ledgertest.NewFake(nil)
	fake.On("consent:ListAuthorizationsByCitizen", func(args []string) (any, error) {
		if args[0] != "BankMSP" || args[1] != refA {
			return nil, errors.New("unexpected citizen")
		}
		return model.Page[model.Authorization]{Items: []model.Authorization{auth("loan-1", refA, "GRANTED", "2026-11-02T09:00:00.000Z")}}, nil
	})
	fake.On("access:ListAccessesByCitizen", func(args []string) (any, error) {
		if args[0] != "BankMSP" || args[1] != refA {
			return nil, errors.New("unexpected citizen")
		}
		return model.Page[model.Access]{Items: []model.Access{{ID: "acc-1", AuthorizationID: "loan-1", CitizenRef: refA,
			Requester: "BankMSP", Provider: "BureauMSP", AccessedAt: "2026-11-02T10:00:00.000Z"}}}, nil
	})
	f, out, errOut := ledgertest.NewFactory(fake)
	var asked []string
	pseudonym := func(_ context.Context, id, requester string) (string, error) {
		if requester != "BankMSP" {
			return "", errors.New("unexpected requester")
		}
		asked = append(asked, id)
		return refA, nil
	}

	var ao *AuthorizationsOptions
	if err := execute(NewCmdAuthorizations(f, func(o *AuthorizationsOptions) error { ao = o; return nil }),
		"--citizen", strings.ToLower(idNumber), "--requester", "BankMSP", "--json"); err != nil {
		t.Fatal(err)
	}
	if ao.Citizen.IDNumber != idNumber || ao.CitizenRef != "" {
		t.Fatalf("options %+v", ao)
	}
	ao.Pseudonym = pseudonym
	if err := authorizationsRun(ao); err != nil {
		t.Fatal(err)
	}
	var list []model.Authorization
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0].ID != "loan-1" {
		t.Fatalf("json %s: %v", out, err)
	}

	var co *AccessesOptions
	if err := execute(NewCmdAccesses(f, func(o *AccessesOptions) error { co = o; return nil }), "--citizen", idNumber, "--requester", "BankMSP"); err != nil {
		t.Fatal(err)
	}
	co.Pseudonym = pseudonym
	out.Reset()
	if err := accessesRun(co); err != nil || !strings.Contains(out.String(), "acc-1") {
		t.Fatalf("accesses %v:\n%s", err, out)
	}
	if len(asked) != 2 || asked[0] != idNumber || strings.Contains(out.String()+errOut.String(), idNumber) {
		t.Fatalf("asked %q; output:\n%s%s", asked, out, errOut)
	}

	// The operator unreachable: the error says so, without the ID number.
	co.Pseudonym = func(context.Context, string, string) (string, error) {
		return "", errors.New("operator gateway unreachable at https://127.0.0.1:7090")
	}
	co.CitizenRef = ""
	if err := accessesRun(co); err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), idNumber) {
		t.Fatalf("err %v", err)
	}
}
