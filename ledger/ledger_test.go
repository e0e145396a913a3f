package ledger

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// recorder is a transactor that records the last call and answers out.
type recorder struct {
	kind, name string
	args       []string
	out        string
}

func (r *recorder) evaluate(_ context.Context, name string, args ...string) ([]byte, error) {
	r.kind, r.name, r.args = "evaluate", name, args
	return []byte(r.out), nil
}

func (r *recorder) submit(_ context.Context, name string, args ...string) ([]byte, error) {
	r.kind, r.name, r.args = "submit", name, args
	return []byte(r.out), nil
}

func TestTransactionsAndArguments(t *testing.T) {
	ctx := context.Background()
	ref := strings.Repeat("a", 64)
	payload := []byte(`{"type":"quanchain.consent.v1"}`)
	tests := []struct {
		want string // kind name args, joined by |
		out  string
		call func(l *Ledger) error
	}{
		{"evaluate|registry:GetConfig", `{"operator_msp":"BureauMSP"}`,
			func(l *Ledger) error { return l.Ping(ctx) }},
		{`submit|consent:RequestAuthorization|{"id":"auth-1","citizen_ref":"` + ref + `","purpose":"CREDIT_ASSESSMENT","categories":["tax"],"data_from":"2025-01-01","data_to":"2025-12-31","valid_until":"2026-01-01T00:00:00Z","max_uses":1,"reference_hash":"` + ref + `"}`,
			`{"id":"auth-1"}`,
			func(l *Ledger) error {
				_, err := l.RequestAuthorization(ctx, model.AuthorizationRequest{ID: "auth-1", CitizenRef: ref,
					Purpose: "CREDIT_ASSESSMENT", Categories: []string{"tax"}, DataFrom: "2025-01-01", DataTo: "2025-12-31",
					ValidUntil: "2026-01-01T00:00:00Z", MaxUses: 1, ReferenceHash: ref})
				return err
			}},
		{"evaluate|consent:GetAuthorization|auth-1", `{"id":"auth-1"}`,
			func(l *Ledger) error { _, err := l.GetAuthorization(ctx, "auth-1"); return err }},
		{"evaluate|consent:ListAuthorizationsByRequester|BankMSP|GRANTED|||0|bm", `{"items":[],"bookmark":""}`,
			func(l *Ledger) error {
				_, err := l.ListAuthorizationsByRequester(ctx, "BankMSP", ListQuery{Status: model.AuthGranted, Bookmark: "bm"})
				return err
			}},
		{"evaluate|consent:ListAuthorizationsByCitizen|" + ref + "||50|", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAuthorizationsByCitizen(ctx, ref, ListQuery{PageSize: 50})
				return err
			}},
		{"submit|consent:Withdraw|auth-1", `{"id":"auth-1"}`,
			func(l *Ledger) error { _, err := l.Withdraw(ctx, "auth-1"); return err }},
		{"submit|consent:Decide|auth-1|" + base64.StdEncoding.EncodeToString(payload) + "|c2ln|kid", `{"id":"auth-1"}`,
			func(l *Ledger) error { _, err := l.Decide(ctx, "auth-1", payload, "c2ln", "kid"); return err }},
		{"submit|registry:AddCitizenKey|" + ref + "|{}", "kid-1",
			func(l *Ledger) error {
				kid, err := l.AddCitizenKey(ctx, ref, "{}")
				if err == nil && kid != "kid-1" {
					t.Errorf("key id %q", kid)
				}
				return err
			}},
		{"submit|registry:RevokeCitizenKey|" + ref + "|kid-1", "",
			func(l *Ledger) error { return l.RevokeCitizenKey(ctx, ref, "kid-1") }},
		{"evaluate|registry:GetCitizen|" + ref, `{}`,
			func(l *Ledger) error { _, err := l.GetCitizen(ctx, ref); return err }},
		{"evaluate|registry:GetInstitution|BankMSP", `{}`,
			func(l *Ledger) error { _, err := l.GetInstitution(ctx, "BankMSP"); return err }},
		{"evaluate|registry:GetCategory|tax", `{}`,
			func(l *Ledger) error { _, err := l.GetCategory(ctx, "tax"); return err }},
		{"evaluate|registry:GetPurpose|CLAIM_SETTLEMENT", `{}`,
			func(l *Ledger) error { _, err := l.GetPurpose(ctx, "CLAIM_SETTLEMENT"); return err }},
		{"evaluate|anchor:VerifyRecord|" + ref, `{"valid":true}`,
			func(l *Ledger) error { _, err := l.VerifyRecord(ctx, ref); return err }},
		{`evaluate|anchor:VerifyProof|{"batch_id":"b-1","record_hash":"` + ref + `","leaf_index":3,"proof":["` + ref + `"]}`, `{}`,
			func(l *Ledger) error {
				_, err := l.VerifyProof(ctx, model.ProofRequest{BatchID: "b-1", RecordHash: ref, LeafIndex: 3, Proof: []string{ref}})
				return err
			}},
		{"evaluate|anchor:GetBatch|b-1", `{}`,
			func(l *Ledger) error { _, err := l.GetBatch(ctx, "b-1"); return err }},
		{`submit|anchor:AnchorBatch|{"batch_id":"b-1","category":"tax","root":"` + ref + `","leaf_count":2}`, `{}`,
			func(l *Ledger) error {
				_, err := l.AnchorBatch(ctx, model.BatchAnchorRequest{BatchID: "b-1", Category: "tax", Root: ref, LeafCount: 2})
				return err
			}},
		{`submit|access:RecordAccess|{"id":"acc-1","authorization_id":"auth-1","requester":"BankMSP","categories":["tax"],"mode":"records","digest":"` + ref + `","record_count":2}`, `{}`,
			func(l *Ledger) error {
				_, err := l.RecordAccess(ctx, model.AccessRequest{ID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP",
					Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: ref, RecordCount: 2})
				return err
			}},
		{"evaluate|access:GetAccess|acc-1", `{}`,
			func(l *Ledger) error { _, err := l.GetAccess(ctx, "acc-1"); return err }},
		{"evaluate|access:ListAccessesByCitizen|" + ref + "|2026-01-01T00:00:00Z||0|", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAccessesByCitizen(ctx, ref, ListQuery{Since: "2026-01-01T00:00:00Z"})
				return err
			}},
	}
	for _, tt := range tests {
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(tt.want, "evaluate|"), "submit|"), "|")
		t.Run(name, func(t *testing.T) {
			r := &recorder{out: tt.out}
			if err := tt.call(&Ledger{tx: r}); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(append([]string{r.kind, r.name}, r.args...), "|")
			if got != tt.want {
				t.Errorf("call\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestUndecodableAnswer(t *testing.T) {
	l := &Ledger{tx: &recorder{out: "not json"}}
	_, err := l.GetAuthorization(context.Background(), "auth-1")
	if CodeOf(err) != model.CodeInternal {
		t.Fatalf("err = %v, want INTERNAL", err)
	}
}
