package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
	chaincodetest "github.com/quanchain/quanchain/ledger/ledgertest"
)

var creditAssessment = &model.Purpose{Code: "CREDIT_ASSESSMENT", AllowedCategories: []string{"housing_fund", "social_security", "tax"},
	MaxValidityDays: 30, MaxUses: 3, MaxDataRangeDays: 730}

// signedGrant is authorisation loan-1 granted at `at` by dev, whose key
// was added an hour before, as the ledger records it.
func signedGrant(t *testing.T, dev *chaincodetest.Device, at time.Time) (model.Authorization, DecisionEvidence) {
	t.Helper()
	a := model.Authorization{ID: "loan-1", CitizenRef: dev.CitizenRef, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: model.FormatTime(at.Add(7 * 24 * time.Hour)), MaxUses: 3, Status: model.AuthPending,
		ReferenceHash: sha("LOAN-1"), RequestedAt: model.FormatTime(at.Add(-2 * time.Hour))}
	terms := model.Terms{Licence: "LIC-BANK", DataLifeDays: 0, SchemaVersions: []int{1, 1}}
	payload := model.NewDecisionPayload(chaincodetest.Channel, &a, terms, model.ActionGrant, at.Add(-time.Minute)).Bytes()
	signature, err := dev.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	a.Seq, a.Status, a.GrantedAt = 1, model.AuthGranted, model.FormatTime(at)
	a.LastDecision = &model.Decision{Action: model.ActionGrant, KeyID: dev.KeyID, Payload: base64.StdEncoding.EncodeToString(payload),
		Signature: signature, At: model.FormatTime(at), TxID: "tx-grant"}
	ev := DecisionEvidence{Channel: chaincodetest.Channel, Purpose: creditAssessment, Terms: terms,
		Citizen: &model.Citizen{Ref: dev.CitizenRef, Keys: []model.DeviceKey{{KeyID: dev.KeyID, JWK: dev.JWK, Status: model.StatusActive,
			AddedAt: model.FormatTime(at.Add(-time.Hour))}}},
		Tx: &TxPlace{Block: 7, Timestamp: at.Truncate(time.Millisecond), Before: at.Add(-time.Second), After: at.Add(time.Second)}}
	return a, ev
}

func newDevice(t *testing.T, ref string) *chaincodetest.Device {
	t.Helper()
	dev, err := chaincodetest.NewDevice(ref)
	if err != nil {
		t.Fatal(err)
	}
	// The key id the chaincode gives it: its RFC 7638 thumbprint.
	pub, err := sig.ParseJWK([]byte(dev.JWK))
	if err != nil {
		t.Fatal(err)
	}
	dev.KeyID = sig.Thumbprint(pub)
	return dev
}

func TestCheckDecision(t *testing.T) {
	at := time.Date(2026, 11, 5, 10, 0, 0, 123e6, time.UTC)
	dev := newDevice(t, sha("citizen-1"))
	other := newDevice(t, sha("citizen-1"))
	tests := []struct {
		name string
		edit func(a *model.Authorization, ev *DecisionEvidence)
		want []string
	}{
		{"clean", nil, nil},
		{"revoked before the decision", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].Status, ev.Citizen.Keys[0].RevokedAt = model.StatusRevoked, model.FormatTime(at.Add(-time.Minute))
		}, []string{DecisionKeyNotActive}},
		{"revoked after the decision", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].Status, ev.Citizen.Keys[0].RevokedAt = model.StatusRevoked, model.FormatTime(at.Add(time.Minute))
		}, nil},
		{"added after the decision", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].AddedAt = model.FormatTime(at.Add(time.Second))
		}, []string{DecisionKeyNotActive}},
		{"young key grant", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].AddedAt = model.FormatTime(at.Add(-9 * time.Minute))
		}, []string{DecisionKeyTooYoung}},
		{"unknown key", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen.Keys[0].KeyID = other.KeyID }, []string{DecisionKeyUnknown}},
		{"no citizen record", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen = nil }, []string{DecisionKeyUnknown}},
		{"signed by another key", func(a *model.Authorization, ev *DecisionEvidence) {
			raw, _ := base64.StdEncoding.DecodeString(a.LastDecision.Payload)
			a.LastDecision.Signature, _ = other.Sign(raw)
		}, []string{DecisionSignatureBad}},
		{"terms changed after signing", func(a *model.Authorization, ev *DecisionEvidence) { a.MaxUses = 2 }, []string{DecisionPayloadMismatch}},
		{"another action recorded", func(a *model.Authorization, ev *DecisionEvidence) { a.LastDecision.Action = model.ActionDeny },
			[]string{DecisionPayloadInvalid}},
		{"payload not canonical", func(a *model.Authorization, ev *DecisionEvidence) {
			raw, _ := base64.StdEncoding.DecodeString(a.LastDecision.Payload)
			a.LastDecision.Payload = base64.StdEncoding.EncodeToString(append(raw, ' '))
		}, []string{DecisionPayloadInvalid, DecisionSignatureBad}},
		{"transaction not on the peer", func(a *model.Authorization, ev *DecisionEvidence) { ev.Tx = nil }, []string{DecisionTxNotFound}},
		{"time is not the transaction's", func(a *model.Authorization, ev *DecisionEvidence) { ev.Tx.Timestamp = at.Add(time.Hour) },
			[]string{DecisionTimeOutOfOrder}},
		{"earlier than a transaction before it", func(a *model.Authorization, ev *DecisionEvidence) { ev.Tx.Before = at.Add(6 * time.Minute) },
			[]string{DecisionTimeOutOfOrder}},
		{"within the clock skew", func(a *model.Authorization, ev *DecisionEvidence) { ev.Tx.Before = at.Add(4 * time.Minute) }, nil},
		{"later than a transaction after it", func(a *model.Authorization, ev *DecisionEvidence) { ev.Tx.After = at.Add(-time.Hour) },
			[]string{DecisionTimeOutOfOrder}},
		{"beyond the purpose", func(a *model.Authorization, ev *DecisionEvidence) {
			p := *creditAssessment
			p.MaxUses, p.MaxValidityDays, p.MaxDataRangeDays, p.AllowedCategories = 2, 5, 100, []string{"tax"}
			ev.Purpose = &p
		}, []string{DecisionBeyondPurpose, DecisionBeyondPurpose, DecisionBeyondPurpose, DecisionBeyondPurpose}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ev := signedGrant(t, dev, at)
			if tc.edit != nil {
				tc.edit(&a, &ev)
			}
			var got []string
			for _, f := range CheckDecision(a, ev, DefaultMinKeyAge, DefaultClockSkew) {
				got = append(got, f.Code)
				if f.AuthorizationID != "loan-1" || f.TxID != "tx-grant" || f.Detail == "" {
					t.Errorf("finding %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
		})
	}
	// A young key may still revoke: only grants are held to the key's age.
	a, ev := signedGrant(t, dev, at)
	ev.Citizen.Keys[0].AddedAt = model.FormatTime(at.Add(-time.Minute))
	if f := CheckDecision(a, ev, 0, DefaultClockSkew); len(f) != 0 {
		t.Fatalf("--min-key-age 0: %+v", f)
	}
}

// TestDecisions verifies the decisions the real chaincode recorded.
func TestDecisions(t *testing.T) {
	c := &clock{t: day}
	net := chaincodetest.NewDemo(t, c.now)
	ctx := context.Background()
	ref := sha("citizen-1")
	if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest("loan-1", ref)); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest("loan-2", ref)); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest("loan-3", ref)); err != nil {
		t.Fatal(err)
	}
	dev, err := net.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An hour later the citizen grants loan-1 and denies loan-2.
	c.set(day.Add(time.Hour))
	for id, action := range map[string]model.Action{"loan-1": model.ActionGrant, "loan-2": model.ActionDeny} {
		if _, err := net.Decide(ctx, dev, id, action); err != nil {
			t.Fatal(err)
		}
	}
	// The blocks: the decisions' transactions at their times.
	var txs [][]ledgertest.Tx
	txs = append(txs, []ledgertest.Tx{{ID: "genesis", Config: true, Time: day.Add(-time.Hour)}})
	decided := func() {
		for _, id := range []string{"loan-1", "loan-2", "loan-3"} {
			a, err := net.Ledger("AuditMSP").GetAuthorization(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.LastDecision == nil {
				continue
			}
			at, _ := time.Parse(time.RFC3339Nano, a.LastDecision.At)
			txs = append(txs, []ledgertest.Tx{{ID: a.LastDecision.TxID, Creator: "BureauMSP", Time: at, Chaincode: "quanchain",
				Args: []string{"consent:Decide", id}}})
		}
	}
	decided()
	peer := auditorPeer{net: net, blocks: ledgertest.NewFake(ledgertest.Chain(txs...))}
	run := func(args ...string) (int, string) {
		t.Helper()
		f, out, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
		f.Ledger = func(context.Context) (*cmdutil.Ledger, error) { return peer.client(), nil }
		err := execute(NewCmdDecisions(f, nil), args...)
		var fc *cmdutil.FailedCheckError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &fc):
			return 3, out.String()
		}
		t.Fatalf("%v\n%s", err, out)
		return 1, ""
	}

	code, out := run("--since", "2026-11-05")
	if code != 0 || !strings.Contains(out, "3 authorisation(s), 2 decision(s) verified, 0 finding(s)") ||
		!strings.Contains(out, "note: device approval is not recorded on the ledger yet") {
		t.Fatalf("exit %d:\n%s", code, out)
	}

	// loan-3 granted two minutes after a new device was enrolled: a young
	// key; and the block of loan-1's grant is preceded by a transaction
	// dated an hour later.
	c.set(day.Add(2 * time.Hour))
	dev2, err := net.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.set(day.Add(2*time.Hour + 2*time.Minute))
	if _, err := net.Decide(ctx, dev2, "loan-3", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	txs = [][]ledgertest.Tx{txs[0], {{ID: "late", Creator: "BankMSP", Time: day.Add(2 * time.Hour), Chaincode: "quanchain"}}}
	decided()
	peer.blocks = ledgertest.NewFake(ledgertest.Chain(txs...))
	code, out = run("--json")
	var rep DecisionsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 3 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Code+" "+f.AuthorizationID)
	}
	if strings.Join(got, ",") != DecisionTimeOutOfOrder+" loan-1,"+DecisionKeyTooYoung+" loan-3" {
		t.Fatalf("findings %v", got)
	}
	if code, _ := run("--min-key-age", "1m", "--clock-skew", "2h"); code != 0 {
		t.Fatalf("a minute's age and two hours' skew: exit %d", code)
	}

	// The purpose template tightened to 2 uses: the 3-use grants are
	// beyond it (a refusal is not a grant).
	if err := chaincodetest.Rewrite(net, "purpose", "CREDIT_ASSESSMENT", func(p *model.Purpose) { p.MaxUses = 2 }); err != nil {
		t.Fatal(err)
	}
	code, out = run("--institution", "BankMSP", "--min-key-age", "0s", "--clock-skew", "2h")
	if code != 3 || strings.Count(out, "BEYOND_PURPOSE") != 2 || !strings.Contains(out, "3 uses, CREDIT_ASSESSMENT allows 2") ||
		strings.Contains(out, "loan-2 ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
