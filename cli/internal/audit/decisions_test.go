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
	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/ledger"
	chaincodetest "github.com/quanchain/quanchain/ledger/ledgertest"
)

var creditAssessment = &model.Purpose{Code: "CREDIT_ASSESSMENT", AllowedCategories: []string{"housing_fund", "social_security", "tax"},
	MaxValidityDays: 30, MaxUses: 3, MaxDataRangeDays: 730}

// signedGrant is authorisation loan-1 granted at `at` by dev, a WebCrypto
// key enrolled with an ID token an hour before for the authorisation's
// subject, as the ledger records it.
func signedGrant(t *testing.T, dev *chaincodetest.Device, at time.Time) (model.Authorization, DecisionEvidence) {
	t.Helper()
	a := model.Authorization{ID: "loan-1", CitizenRef: dev.CitizenRef, Requester: "BankMSP", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: model.FormatTime(at.Add(7 * 24 * time.Hour)), MaxUses: 3, Status: model.AuthPending,
		ReferenceHash: sha("LOAN-1"), Subject: sha("subject-1"), RequestedAt: model.FormatTime(at.Add(-2 * time.Hour))}
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
			AddedAt: model.FormatTime(at.Add(-time.Hour)), Kind: model.KeyWebCrypto, Proof: model.ProofIDToken, Subject: a.Subject}}},
		Tx: &TxPlace{Block: 7, Timestamp: at.Truncate(time.Millisecond), Before: at.Add(-time.Second), After: at.Add(time.Second)}}
	return a, ev
}

var defaultRules = DecisionRules{MinKeyAge: DefaultMinKeyAge, ClockSkew: DefaultClockSkew}

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
	third := newDevice(t, sha("citizen-1"))
	// enrol adds d's key to the record, added `ago` before the decision
	// with an ID token; approve makes key i's enrolment the approval of d's.
	enrol := func(ev *DecisionEvidence, d *chaincodetest.Device, ago time.Duration) {
		ev.Citizen.Keys = append(ev.Citizen.Keys, model.DeviceKey{KeyID: d.KeyID, JWK: d.JWK, Status: model.StatusActive,
			AddedAt: model.FormatTime(at.Add(-ago)), Kind: model.KeyWebAuthn, Proof: model.ProofIDToken, Subject: ev.Citizen.Keys[0].Subject})
	}
	approve := func(ev *DecisionEvidence, i int, d *chaincodetest.Device, ago time.Duration) {
		k := &ev.Citizen.Keys[i]
		k.AddedAt, k.Proof, k.ApprovedBy = model.FormatTime(at.Add(-ago)), model.ProofDevice, d.KeyID
	}
	// approved is dev's key approved, `ago` before the decision, by
	// other's, enrolled with an ID token otherAgo before it.
	approved := func(ev *DecisionEvidence, ago, otherAgo time.Duration) {
		enrol(ev, other, otherAgo)
		approve(ev, 0, other, ago)
	}
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
		{"young key approved by an established device", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, 2*time.Minute, 2*time.Hour)
		}, nil},
		{"young key approved by a young device", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, 2*time.Minute, 5*time.Minute)
		}, []string{DecisionKeyTooYoung}},
		{"young key approved through a young device", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, 2*time.Minute, 4*time.Minute)
			enrol(ev, third, 5*time.Minute)
			approve(ev, 1, third, 4*time.Minute)
		}, []string{DecisionKeyTooYoung}},
		{"young key approved through an established device", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, 2*time.Minute, 4*time.Minute)
			enrol(ev, third, 2*time.Hour)
			approve(ev, 1, third, 4*time.Minute)
		}, nil},
		{"young key enrolled before proofs", func(a *model.Authorization, ev *DecisionEvidence) {
			k := &ev.Citizen.Keys[0]
			k.AddedAt, k.Kind, k.Proof, k.Subject = model.FormatTime(at.Add(-9*time.Minute)), "", "", ""
		}, []string{DecisionKeyNoProof, DecisionKeyTooYoung, DecisionSubjectMismatch}},
		{"enrolled before proofs", func(a *model.Authorization, ev *DecisionEvidence) {
			k := &ev.Citizen.Keys[0]
			k.Kind, k.Proof, k.Subject = "", "", ""
		}, []string{DecisionKeyNoProof, DecisionSubjectMismatch}},
		{"another proof", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen.Keys[0].Proof = "sms" }, []string{DecisionKeyNoProof}},
		{"no subject", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen.Keys[0].Subject = "" },
			[]string{DecisionKeyNoProof, DecisionSubjectMismatch}},
		{"another kind", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen.Keys[0].Kind = "u2f" }, []string{DecisionKeyNoProof}},
		{"device proof without its approver", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].Proof = model.ProofDevice
		}, []string{DecisionKeyNoProof}},
		{"ID token proof with an approver", func(a *model.Authorization, ev *DecisionEvidence) {
			enrol(ev, other, 2*time.Hour)
			ev.Citizen.Keys[0].ApprovedBy = other.KeyID
		}, []string{DecisionKeyNoProof}},
		{"subject not its approver's", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, time.Hour, 2*time.Hour)
			ev.Citizen.Keys[1].Subject = sha("subject-2")
		}, []string{DecisionKeyNoProof}},
		{"enrolled for another subject", func(a *model.Authorization, ev *DecisionEvidence) { ev.Citizen.Keys[0].Subject = sha("subject-2") },
			[]string{DecisionSubjectMismatch}},
		{"approved for another subject", func(a *model.Authorization, ev *DecisionEvidence) {
			// Both keys agree with each other, but not with the authorisation.
			approved(ev, time.Hour, 2*time.Hour)
			ev.Citizen.Keys[0].Subject, ev.Citizen.Keys[1].Subject = sha("subject-2"), sha("subject-2")
		}, []string{DecisionSubjectMismatch}},
		{"requested before subjects", func(a *model.Authorization, ev *DecisionEvidence) { a.Subject = "" },
			[]string{DecisionSubjectMismatch}},
		{"requested before subjects, by a key enrolled before proofs", func(a *model.Authorization, ev *DecisionEvidence) {
			k := &ev.Citizen.Keys[0]
			a.Subject, k.Kind, k.Proof, k.Subject = "", "", "", ""
		}, []string{DecisionKeyNoProof, DecisionSubjectMismatch}},
		{"requested before subjects, signed by an unknown key", func(a *model.Authorization, ev *DecisionEvidence) {
			a.Subject, ev.Citizen = "", nil
		}, []string{DecisionKeyUnknown, DecisionSubjectMismatch}},
		{"approved by a device active then", func(a *model.Authorization, ev *DecisionEvidence) { approved(ev, time.Hour, 2*time.Hour) }, nil},
		{"approver revoked after the key was added", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, time.Hour, 2*time.Hour)
			ev.Citizen.Keys[1].Status, ev.Citizen.Keys[1].RevokedAt = model.StatusRevoked, model.FormatTime(at.Add(-30*time.Minute))
		}, nil},
		{"approver revoked before the key was added", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, time.Hour, 2*time.Hour)
			ev.Citizen.Keys[1].Status, ev.Citizen.Keys[1].RevokedAt = model.StatusRevoked, model.FormatTime(at.Add(-90*time.Minute))
		}, []string{DecisionApproverUnknown}},
		{"approver added after the key", func(a *model.Authorization, ev *DecisionEvidence) { approved(ev, time.Hour, 30*time.Minute) },
			[]string{DecisionApproverUnknown}},
		{"approver not in the record", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, time.Hour, 2*time.Hour)
			ev.Citizen.Keys = ev.Citizen.Keys[:1]
		}, []string{DecisionApproverUnknown}},
		{"approved by itself", func(a *model.Authorization, ev *DecisionEvidence) { approve(ev, 0, dev, time.Hour) },
			[]string{DecisionApproverUnknown}},
		{"approver's approver not in the record", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, time.Hour, 2*time.Hour)
			approve(ev, 1, third, 2*time.Hour)
		}, []string{DecisionApproverUnknown}},
		{"young key whose approver is not in the record", func(a *model.Authorization, ev *DecisionEvidence) {
			approved(ev, 2*time.Minute, 2*time.Hour)
			ev.Citizen.Keys = ev.Citizen.Keys[:1]
		}, []string{DecisionApproverUnknown, DecisionKeyTooYoung}},
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
			for _, f := range CheckDecision(a, ev, defaultRules) {
				got = append(got, f.Code)
				if f.AuthorizationID != "loan-1" || f.TxID != "tx-grant" || f.Detail == "" {
					t.Errorf("finding %+v", f)
				}
				// A subject digest can be searched back to its ID number.
				for _, subject := range []string{sha("subject-1"), sha("subject-2")} {
					if strings.Contains(f.Detail, subject) {
						t.Errorf("finding %+v shows a subject digest", f)
					}
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
	if f := CheckDecision(a, ev, DecisionRules{ClockSkew: DefaultClockSkew}); len(f) != 0 {
		t.Fatalf("--min-key-age 0: %+v", f)
	}
}

// asPasskey has pk sign a's decision instead, as a passkey's assertion
// with the user verified or not, and makes pk's key the record's.
func asPasskey(t *testing.T, a *model.Authorization, ev *DecisionEvidence, pk *identitytest.Passkey, verified bool) {
	t.Helper()
	payload, err := base64.StdEncoding.DecodeString(a.LastDecision.Payload)
	if err != nil {
		t.Fatal(err)
	}
	as, err := pk.AssertPayload(payload, identitytest.RPID, identitytest.Origin, verified)
	if err != nil {
		t.Fatal(err)
	}
	d := a.LastDecision
	d.KeyID, d.Signature, d.AuthenticatorData, d.ClientDataJSON, d.UserVerified = pk.KeyID, as.Signature, as.AuthenticatorData, as.ClientDataJSON, verified
	k := &ev.Citizen.Keys[0]
	k.KeyID, k.JWK, k.Kind = pk.KeyID, pk.JWK, model.KeyWebAuthn
}

func TestCheckDecisionUserVerification(t *testing.T) {
	at := time.Date(2026, 11, 5, 10, 0, 0, 123e6, time.UTC)
	dev := newDevice(t, sha("citizen-1"))
	pk, err := identitytest.NewPasskey()
	if err != nil {
		t.Fatal(err)
	}
	require := DecisionRules{MinKeyAge: DefaultMinKeyAge, ClockSkew: DefaultClockSkew, RequireUserVerification: true}
	tests := []struct {
		name  string
		edit  func(a *model.Authorization, ev *DecisionEvidence)
		rules DecisionRules
		want  []string
	}{
		{"WebCrypto key, not required", nil, defaultRules, nil},
		{"WebCrypto key, required", nil, require, []string{DecisionNotUserVerified}},
		{"a refusal, required", func(a *model.Authorization, ev *DecisionEvidence) {
			// Re-signed as a denial of the pending request.
			a.Seq, a.Status, a.GrantedAt = 0, model.AuthPending, ""
			payload := model.NewDecisionPayload(ev.Channel, a, ev.Terms, model.ActionDeny, at.Add(-time.Minute)).Bytes()
			a.Seq, a.Status = 1, model.AuthDenied
			a.LastDecision.Action, a.LastDecision.Payload = model.ActionDeny, base64.StdEncoding.EncodeToString(payload)
			a.LastDecision.Signature, _ = dev.Sign(payload)
		}, require, []string{DecisionNotUserVerified}},
		{"passkey, user verified, required", func(a *model.Authorization, ev *DecisionEvidence) { asPasskey(t, a, ev, pk, true) }, require, nil},
		{"passkey, user only present, required", func(a *model.Authorization, ev *DecisionEvidence) { asPasskey(t, a, ev, pk, false) },
			require, []string{DecisionNotUserVerified}},
		{"passkey, user only present, not required", func(a *model.Authorization, ev *DecisionEvidence) { asPasskey(t, a, ev, pk, false) },
			defaultRules, nil},
		{"assertion's flag not the decision's", func(a *model.Authorization, ev *DecisionEvidence) {
			asPasskey(t, a, ev, pk, false)
			a.LastDecision.UserVerified = true
		}, require, []string{DecisionSignatureBad}},
		{"passkey without its assertion", func(a *model.Authorization, ev *DecisionEvidence) {
			ev.Citizen.Keys[0].Kind = model.KeyWebAuthn
		}, defaultRules, []string{DecisionSignatureBad}},
		{"WebCrypto key with an assertion", func(a *model.Authorization, ev *DecisionEvidence) {
			asPasskey(t, a, ev, pk, true)
			ev.Citizen.Keys[0].Kind = model.KeyWebCrypto
		}, defaultRules, []string{DecisionSignatureBad}},
		{"raw signature recorded as user verified", func(a *model.Authorization, ev *DecisionEvidence) {
			a.LastDecision.UserVerified = true
		}, require, []string{DecisionSignatureBad}},
		{"key of no recorded kind, by its assertion", func(a *model.Authorization, ev *DecisionEvidence) {
			asPasskey(t, a, ev, pk, true)
			k := &ev.Citizen.Keys[0]
			k.Kind, k.Proof, k.Subject = "", "", ""
		}, require, []string{DecisionKeyNoProof, DecisionSubjectMismatch}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ev := signedGrant(t, dev, at)
			if tc.edit != nil {
				tc.edit(&a, &ev)
			}
			var got []string
			for _, f := range CheckDecision(a, ev, tc.rules) {
				got = append(got, f.Code)
				if f.Detail == "" || f.KeyKind != ev.Citizen.Keys[0].Kind || f.KeyProof != ev.Citizen.Keys[0].Proof {
					t.Errorf("finding %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

// approvePasskey enrols a new passkey for the citizen ref in the bank's
// records with the approval of the citizen's WebCrypto device approver,
// through the operator, as the consent app does.
func approvePasskey(ctx context.Context, net *chaincodetest.Network, ref string, approver *chaincodetest.Device) (*identitytest.Passkey, error) {
	pk, err := identitytest.NewPasskey()
	if err != nil {
		return nil, err
	}
	approval := identitytest.Approval(chaincodetest.Channel, pk.KeyID, "", net.Now())
	signature, err := identitytest.SignWebCrypto(approver.Key, approval)
	if err != nil {
		return nil, err
	}
	proof := &model.EnrolmentProof{Kind: model.ProofDevice, Approval: base64.RawURLEncoding.EncodeToString(approval),
		Signer: &model.Signature{KeyID: approver.KeyID, Signature: signature}}
	_, err = net.Ledger("BureauMSP").AddCitizenKey(ctx, model.CitizenKeyInput{Requester: "BankMSP", CitizenRef: ref, JWK: pk.JWK,
		Kind: model.KeyWebAuthn, Proof: proof})
	return pk, err
}

// decidePasskey has pk sign action on the authorisation, with the user
// verified, and submits it through the operator.
func decidePasskey(ctx context.Context, net *chaincodetest.Network, pk *identitytest.Passkey, id string, action model.Action) error {
	op := net.Ledger("BureauMSP")
	a, err := op.GetAuthorization(ctx, id)
	if err != nil {
		return err
	}
	terms, err := chaincodetest.Terms(ctx, op, a)
	if err != nil {
		return err
	}
	payload := model.NewDecisionPayload(chaincodetest.Channel, a, terms, action, net.Now()).Bytes()
	as, err := pk.AssertPayload(payload, identitytest.RPID, identitytest.Origin, true)
	if err != nil {
		return err
	}
	_, err = op.DecideSigned(ctx, id, payload, model.Signature{KeyID: pk.KeyID, Signature: as.Signature,
		AuthenticatorData: as.AuthenticatorData, ClientDataJSON: as.ClientDataJSON})
	return err
}

// TestDecisions verifies the decisions the real chaincode recorded.
func TestDecisions(t *testing.T) {
	c := &clock{t: day}
	net := chaincodetest.NewDemo(t, c.now)
	ctx := context.Background()
	ref := sha("citizen-1")
	loans := []string{"loan-1", "loan-2", "loan-3", "loan-4", "loan-5"}
	for _, id := range loans[:3] {
		if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest(id, ref)); err != nil {
			t.Fatal(err)
		}
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
		for _, id := range loans {
			a, err := net.Ledger("AuditMSP").GetAuthorization(ctx, id)
			if ledger.CodeOf(err) == model.CodeAuthNotFound {
				continue
			}
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
	report := func(args ...string) (int, DecisionsReport) {
		t.Helper()
		code, out := run(append(args, "--json")...)
		var rep DecisionsReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("exit %d, %v:\n%s", code, err, out)
		}
		return code, rep
	}
	findings := func(rep DecisionsReport) string {
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Code+" "+f.AuthorizationID)
		}
		return strings.Join(got, ",")
	}

	// Two decisions by a WebCrypto key enrolled with an ID token: no
	// findings, both without user verification, which is counted.
	code, out := run("--since", "2026-11-05")
	for _, want := range []string{
		"3 authorisation(s), 2 decision(s) verified, 0 finding(s)\n",
		"user verification: 0 decision(s) with, 2 without\n",
		"signing key(s): 1; enrolled with an ID token 1 (webauthn 0, webcrypto 1), approved by a device 0, without a proof 0, unknown 0\n",
		"note: 2 decision(s) made without user verification: --require-user-verification makes each a finding\n",
		"DECISIONS\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, want %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "device approval is not recorded") || strings.Count(out, " webcrypto  id_token ") != 2 {
		t.Fatalf("the decisions' keys:\n%s", out)
	}
	code, rep := report("--require-user-verification")
	if code != 3 || findings(rep) != DecisionNotUserVerified+" loan-1,"+DecisionNotUserVerified+" loan-2" ||
		rep.UserVerified != 0 || rep.NotUserVerified != 2 || len(rep.Notes) != 0 {
		t.Fatalf("--require-user-verification: exit %d, %+v", code, rep)
	}

	// Two hours in, the citizen enrols a second WebCrypto key with an ID
	// token and grants loan-3 with it two minutes later: a young key.
	// Passkeys approved by each WebCrypto key grant loan-4 and loan-5
	// three minutes later: the first was vouched for by the key of two
	// hours before, the second by the key of three minutes before. And
	// the block of loan-1's grant is preceded by a transaction dated an
	// hour later.
	c.set(day.Add(2 * time.Hour))
	for _, id := range loans[3:] {
		if _, err := net.Ledger("BankMSP").RequestAuthorization(ctx, loanRequest(id, ref)); err != nil {
			t.Fatal(err)
		}
	}
	dev2, err := net.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.set(day.Add(2*time.Hour + time.Minute))
	pk1, err := approvePasskey(ctx, net, ref, dev)
	if err != nil {
		t.Fatal(err)
	}
	pk2, err := approvePasskey(ctx, net, ref, dev2)
	if err != nil {
		t.Fatal(err)
	}
	c.set(day.Add(2*time.Hour + 2*time.Minute))
	if _, err := net.Decide(ctx, dev2, "loan-3", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	c.set(day.Add(2*time.Hour + 3*time.Minute))
	if err := decidePasskey(ctx, net, pk1, "loan-4", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	if err := decidePasskey(ctx, net, pk2, "loan-5", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	txs = [][]ledgertest.Tx{txs[0], {{ID: "late", Creator: "BankMSP", Time: day.Add(2 * time.Hour), Chaincode: "quanchain"}}}
	decided()
	peer.blocks = ledgertest.NewFake(ledgertest.Chain(txs...))
	code, rep = report()
	if code != 3 || findings(rep) != DecisionTimeOutOfOrder+" loan-1,"+DecisionKeyTooYoung+" loan-3,"+DecisionKeyTooYoung+" loan-5" {
		t.Fatalf("exit %d, findings %v", code, findings(rep))
	}
	wantKeys := SigningKeyCounts{Total: 4, IDToken: KindCounts{Total: 2, WebCrypto: 2}, Device: KindCounts{Total: 2, WebAuthn: 2}}
	if rep.Decisions != 5 || rep.UserVerified != 2 || rep.NotUserVerified != 3 || rep.SigningKeys != wantKeys {
		t.Fatalf("counts: %d decisions, %d/%d user verified, keys %+v", rep.Decisions, rep.UserVerified, rep.NotUserVerified, rep.SigningKeys)
	}
	for _, d := range rep.Checked {
		want := CheckedDecision{AuthorizationID: d.AuthorizationID, Requester: "BankMSP", Action: d.Action, At: d.At, KeyID: dev.KeyID,
			KeyKind: model.KeyWebCrypto, KeyProof: model.ProofIDToken, Findings: d.Findings}
		switch d.AuthorizationID {
		case "loan-3":
			want.KeyID = dev2.KeyID
		case "loan-4", "loan-5":
			want.KeyID, want.KeyKind, want.KeyProof, want.ApprovedBy, want.UserVerified = pk1.KeyID, model.KeyWebAuthn, model.ProofDevice, dev.KeyID, true
			if d.AuthorizationID == "loan-5" {
				want.KeyID, want.ApprovedBy = pk2.KeyID, dev2.KeyID
			}
		}
		if d != want {
			t.Errorf("decision %+v, want %+v", d, want)
		}
	}
	if code, rep := report("--min-key-age", "1m", "--clock-skew", "2h"); code != 0 {
		t.Fatalf("a minute's age and two hours' skew: exit %d, findings %v", code, findings(rep))
	}
	if code, rep := report("--min-key-age", "1m", "--clock-skew", "2h", "--require-user-verification"); code != 3 ||
		findings(rep) != DecisionNotUserVerified+" loan-1,"+DecisionNotUserVerified+" loan-2,"+DecisionNotUserVerified+" loan-3" {
		t.Fatalf("--require-user-verification: exit %d, findings %v", code, findings(rep))
	}

	// The purpose template tightened to 2 uses: the 3-use grants are
	// beyond it (a refusal is not a grant).
	if err := chaincodetest.Rewrite(net, "purpose", "CREDIT_ASSESSMENT", func(p *model.Purpose) { p.MaxUses = 2 }); err != nil {
		t.Fatal(err)
	}
	code, out = run("--institution", "BankMSP", "--min-key-age", "0s", "--clock-skew", "2h")
	if code != 3 || strings.Count(out, "BEYOND_PURPOSE") != 4 || !strings.Contains(out, "3 uses, CREDIT_ASSESSMENT allows 2") ||
		strings.Contains(out, "BEYOND_PURPOSE  loan-2 ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out = run("--institution", "BankMSP", "--min-key-age", "0s", "--clock-skew", "2h", "--format", "csv")
	if code != 3 || !strings.HasPrefix(out, "code,authorization_id,requester,action,key_id,at,tx_id,detail,key_kind,key_proof\n") ||
		!strings.Contains(out, ",webauthn,device\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
