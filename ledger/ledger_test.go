package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// recorder is a transactor that records its calls and answers out. A
// call is recorded as kind|name|args…, then t:key=value for each private
// input and e:org,org for the endorsers.
type recorder struct {
	calls []string
	out   string
}

func (r *recorder) record(kind string, c Call) {
	parts := append([]string{kind, c.Name}, c.Args...)
	keys := make([]string, 0, len(c.Transient))
	for k := range c.Transient {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, "t:"+k+"="+string(c.Transient[k]))
	}
	if len(c.Endorsers) > 0 {
		parts = append(parts, "e:"+strings.Join(c.Endorsers, ","))
	}
	r.calls = append(r.calls, strings.Join(parts, "|"))
}

func (r *recorder) evaluate(_ context.Context, c Call) ([]byte, error) {
	r.record("evaluate", c)
	return []byte(r.out), nil
}

func (r *recorder) submit(_ context.Context, c Call) ([]byte, error) {
	r.record("submit", c)
	return []byte(r.out), nil
}

// main returns the call a method is about: its submit if it made one,
// else its last call.
func (r *recorder) main() string {
	for _, c := range r.calls {
		if strings.HasPrefix(c, "submit|") {
			return c
		}
	}
	if len(r.calls) == 0 {
		return ""
	}
	return r.calls[len(r.calls)-1]
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
		{`submit|consent:RequestAuthorization|t:request={"id":"auth-1","citizen_ref":"` + ref + `","purpose":"CREDIT_ASSESSMENT","categories":["tax"],"data_from":"2025-01-01","data_to":"2025-12-31","valid_until":"2026-01-01T00:00:00Z","max_uses":1,"reference_hash":"` + ref + `","subject":"` + ref + `"}|e:BureauMSP,BankMSP`,
			`{"id":"auth-1"}`,
			func(l *Ledger) error {
				_, err := l.RequestAuthorization(ctx, model.AuthorizationRequest{ID: "auth-1", CitizenRef: ref,
					Purpose: "CREDIT_ASSESSMENT", Categories: []string{"tax"}, DataFrom: "2025-01-01", DataTo: "2025-12-31",
					ValidUntil: "2026-01-01T00:00:00Z", MaxUses: 1, ReferenceHash: ref, Subject: ref})
				return err
			}},
		{"evaluate|consent:GetAuthorization|auth-1", `{"id":"auth-1"}`,
			func(l *Ledger) error { _, err := l.GetAuthorization(ctx, "auth-1"); return err }},
		{"evaluate|consent:ListAuthorizationsByRequester|BankMSP|GRANTED|||0|bm", `{"items":[],"bookmark":""}`,
			func(l *Ledger) error {
				_, err := l.ListAuthorizationsByRequester(ctx, "BankMSP", ListQuery{Status: model.AuthGranted, Bookmark: "bm"})
				return err
			}},
		{"evaluate|consent:ListAuthorizationsByCitizen|InsurerMSP|" + ref + "||50|", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAuthorizationsByCitizen(ctx, "InsurerMSP", ref, ListQuery{PageSize: 50})
				return err
			}},
		{"submit|consent:Withdraw|auth-1|e:BureauMSP,BankMSP", `{"id":"auth-1"}`,
			func(l *Ledger) error { _, err := l.Withdraw(ctx, "auth-1"); return err }},
		{`submit|consent:Decide|auth-1|t:decision={"payload":"` + base64.StdEncoding.EncodeToString(payload) + `","signature":"c2ln","key_id":"kid"}|e:BureauMSP,InsurerMSP`,
			`{"id":"auth-1","requester":"InsurerMSP"}`,
			func(l *Ledger) error { _, err := l.Decide(ctx, "auth-1", payload, "c2ln", "kid"); return err }},
		{`submit|consent:Decide|auth-1|t:decision={"payload":"` + base64.StdEncoding.EncodeToString(payload) + `","signature":"c2ln","key_id":"kid","authenticator_data":"YWQ","client_data_json":"Y2Q"}|e:BureauMSP,InsurerMSP`,
			`{"id":"auth-1","requester":"InsurerMSP"}`,
			func(l *Ledger) error {
				_, err := l.DecideSigned(ctx, "auth-1", payload, model.Signature{KeyID: "kid", Signature: "c2ln", AuthenticatorData: "YWQ", ClientDataJSON: "Y2Q"})
				return err
			}},
		{`submit|registry:AddCitizenKey|t:key={"requester":"BankMSP","citizen_ref":"` + ref + `","jwk":"{}","name":"iPhone","kind":"webauthn","proof":{"kind":"id_token","id_token":"a.b.c"}}|e:BureauMSP,BankMSP`, "kid-1",
			func(l *Ledger) error {
				kid, err := l.AddCitizenKey(ctx, model.CitizenKeyInput{Requester: "BankMSP", CitizenRef: ref, JWK: "{}", Name: "iPhone",
					Kind: model.KeyWebAuthn, Proof: &model.EnrolmentProof{Kind: model.ProofIDToken, IDToken: "a.b.c"}})
				if err == nil && kid != "kid-1" {
					t.Errorf("key id %q", kid)
				}
				return err
			}},
		{`submit|registry:RevokeCitizenKey|t:key={"requester":"InsurerMSP","citizen_ref":"` + ref + `","key_id":"kid-1"}|e:BureauMSP,InsurerMSP`, "",
			func(l *Ledger) error { return l.RevokeCitizenKey(ctx, "InsurerMSP", ref, "kid-1") }},
		{`submit|registry:ProposeIdentityPolicy|{"issuer":"https://id.test","audience":"gw","id_claim":"id_number","acr_values":["loa3"],"jwks":"{}","max_token_age_seconds":0,"rp_id":"x.test","origins":["https://x.test"],"allow_unverified_keys":false}`, ref,
			func(l *Ledger) error {
				d, err := l.ProposeIdentityPolicy(ctx, model.IdentityPolicy{Issuer: "https://id.test", Audience: "gw", IDClaim: "id_number",
					ACRValues: []string{"loa3"}, JWKS: "{}", RPID: "x.test", Origins: []string{"https://x.test"}})
				if err == nil && d != ref {
					t.Errorf("digest %q", d)
				}
				return err
			}},
		{"submit|registry:ApproveIdentityPolicy|" + ref, "",
			func(l *Ledger) error { return l.ApproveIdentityPolicy(ctx, ref) }},
		{"evaluate|registry:GetIdentityPolicy", `{"active":{"digest":"` + ref + `"}}`,
			func(l *Ledger) error {
				st, err := l.GetIdentityPolicy(ctx)
				if err == nil && (st.Active == nil || st.Active.Digest != ref || st.Pending != nil) {
					t.Errorf("state %+v", st)
				}
				return err
			}},
		{"evaluate|registry:GetCitizen|BankMSP|" + ref, `{}`,
			func(l *Ledger) error { _, err := l.GetCitizen(ctx, "BankMSP", ref); return err }},
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
		{`evaluate|anchor:VerifyProofs|[{"batch_id":"b-1","record_hash":"` + ref + `","salt":"` + ref + `","leaf_index":3,"proof":["` + ref + `"]}]`, `[{"valid":true}]`,
			func(l *Ledger) error {
				vs, err := l.VerifyProofs(ctx, []model.ProofRequest{{BatchID: "b-1", RecordHash: ref, Salt: ref, LeafIndex: 3, Proof: []string{ref}}})
				if err == nil && (len(vs) != 1 || !vs[0].Valid) {
					t.Errorf("verifications %+v", vs)
				}
				return err
			}},
		{"evaluate|anchor:GetBatch|b-1", `{}`,
			func(l *Ledger) error { _, err := l.GetBatch(ctx, "b-1"); return err }},
		{`submit|anchor:AnchorBatch|{"batch_id":"b-1","category":"tax","root":"` + ref + `","leaf_count":2}`, `{}`,
			func(l *Ledger) error {
				_, err := l.AnchorBatch(ctx, model.BatchAnchorRequest{BatchID: "b-1", Category: "tax", Root: ref, LeafCount: 2})
				return err
			}},
		{`submit|access:RecordAccess|t:access={"id":"acc-1","authorization_id":"auth-1","requester":"BankMSP","categories":["tax"],"mode":"records","digest":"` + ref + `","record_count":2}|e:BureauMSP,BankMSP`,
			`{"id":"auth-1","requester":"BankMSP"}`,
			func(l *Ledger) error {
				_, err := l.RecordAccess(ctx, model.AccessRequest{ID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP",
					Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: ref, RecordCount: 2})
				return err
			}},
		{"evaluate|access:GetAccess|acc-1", `{}`,
			func(l *Ledger) error { _, err := l.GetAccess(ctx, "acc-1"); return err }},
		{"evaluate|access:ListAccessesByCitizen|BankMSP|" + ref + "|2026-01-01T00:00:00Z||0|", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAccessesByCitizen(ctx, "BankMSP", ref, ListQuery{Since: "2026-01-01T00:00:00Z"})
				return err
			}},
		{"evaluate|registry:ListInstitutions|100|bm", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListInstitutions(ctx, ListQuery{PageSize: 100, Bookmark: "bm"})
				return err
			}},
		{"evaluate|registry:History|auth|auth-1", `[{"tx_id":"t1"}]`,
			func(l *Ledger) error {
				h, err := l.History(ctx, "auth", "auth-1")
				if err == nil && (len(h) != 1 || h[0].TxID != "t1") {
					t.Errorf("history %+v", h)
				}
				return err
			}},
		{"evaluate|access:ListAccessesByRequester|BankMSP|2026-11-01T00:00:00.000Z||100|", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAccessesByRequester(ctx, "BankMSP", ListQuery{Since: "2026-11-01T00:00:00.000Z", PageSize: 100})
				return err
			}},
		{"evaluate|access:ListAccessesByAuthorization|auth-1|100|bm", `{"items":[]}`,
			func(l *Ledger) error {
				_, err := l.ListAccessesByAuthorization(ctx, "auth-1", ListQuery{PageSize: 100, Bookmark: "bm"})
				return err
			}},
		{`submit|registry:Bootstrap|{"msp_id":"BureauMSP","name":"Bureau","kind":"provider","licence":"L1","status":"","registered_at":"","updated_at":""}`, "",
			func(l *Ledger) error {
				return l.Bootstrap(ctx, model.Institution{MSPID: "BureauMSP", Name: "Bureau", Kind: model.KindProvider, Licence: "L1"})
			}},
		{`submit|registry:RegisterInstitution|{"msp_id":"BankMSP","name":"Bank","kind":"bank","licence":"L2","status":"","registered_at":"","updated_at":""}`, "",
			func(l *Ledger) error {
				return l.RegisterInstitution(ctx, model.Institution{MSPID: "BankMSP", Name: "Bank", Kind: model.KindBank, Licence: "L2"})
			}},
		{`submit|registry:RegisterCategory|{"code":"tax","name_zh":"纳税信息","name_en":"Tax","provider_msp":"BureauMSP","sensitive":true,"status":"","registered_at":""}`, "",
			func(l *Ledger) error {
				return l.RegisterCategory(ctx, model.Category{Code: "tax", NameZH: "纳税信息", NameEN: "Tax", ProviderMSP: "BureauMSP", Sensitive: true})
			}},
		{`submit|registry:RegisterPurpose|{"code":"CREDIT","name_zh":"","name_en":"Credit","requester_kinds":["bank"],"allowed_categories":["tax"],"max_validity_days":30,"max_uses":3,"max_data_range_days":365,"may_store":false,"data_life_days":0,"registered_at":""}`, "",
			func(l *Ledger) error {
				return l.RegisterPurpose(ctx, model.Purpose{Code: "CREDIT", NameEN: "Credit", RequesterKinds: []model.InstitutionKind{model.KindBank},
					AllowedCategories: []string{"tax"}, MaxValidityDays: 30, MaxUses: 3, MaxDataRangeDays: 365})
			}},
	}
	for _, tt := range tests {
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(tt.want, "evaluate|"), "submit|"), "|")
		t.Run(name, func(t *testing.T) {
			r := &recorder{out: tt.out}
			if err := tt.call(&Ledger{tx: r, msp: "BankMSP", operator: "BureauMSP"}); err != nil {
				t.Fatal(err)
			}
			if got := r.main(); got != tt.want {
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

// pages answers a listing from a list of pages, each naming the bookmark
// it expects.
type pages struct {
	want  []string // the bookmark each call must carry
	pages []string // the answers
	calls int
}

func (p *pages) evaluate(_ context.Context, c Call) ([]byte, error) {
	args := c.Args
	i := p.calls
	p.calls++
	if i >= len(p.pages) || args[len(args)-1] != p.want[i] {
		return nil, fmt.Errorf("call %d with args %q", i, args)
	}
	return []byte(p.pages[i]), nil
}

func (p *pages) submit(context.Context, Call) ([]byte, error) {
	return nil, errors.New("no submits")
}

func TestAllFollowsBookmarks(t *testing.T) {
	p := &pages{want: []string{"", "b1", "b2"}, pages: []string{
		`{"items":[{"id":"a1"},{"id":"a2"}],"bookmark":"b1"}`,
		`{"items":[],"bookmark":"b2"}`,            // a filtered listing may return an empty page with a bookmark
		`{"items":[{"id":"a3"}],"bookmark":"b2"}`, // the same bookmark again: the end
	}}
	l := &Ledger{tx: p}
	got, err := All(context.Background(), ListQuery{PageSize: 100}, func(ctx context.Context, q ListQuery) (*model.Page[model.Access], error) {
		return l.ListAccessesByRequester(ctx, "BankMSP", q)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].ID != "a3" || p.calls != 3 {
		t.Fatalf("items %+v after %d calls", got, p.calls)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := All(cctx, ListQuery{}, l.ListInstitutions); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// evaluations records Evaluator calls.
type evaluations struct{ calls []string }

func (e *evaluations) Evaluate(_ context.Context, org, chaincode, name string, args ...string) ([]byte, error) {
	e.calls = append(e.calls, strings.Join(append([]string{org, chaincode, name}, args...), "|"))
	return []byte(`{"id":"auth-1"}`), nil
}

func TestReaderEvaluatesOnItsOwnPeerOnly(t *testing.T) {
	ev := &evaluations{}
	l := NewReader(ev, "quanchain")
	ctx := context.Background()
	if _, err := l.GetAuthorization(ctx, "auth-1"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ev.calls, ",") != "|quanchain|consent:GetAuthorization|auth-1" {
		t.Fatalf("calls %q", ev.calls)
	}
	if _, err := l.Withdraw(ctx, "auth-1"); CodeOf(err) != model.CodeInternal || strings.Contains(strings.Join(ev.calls, ","), "Withdraw") {
		t.Fatalf("a reader submitted: %v, calls %q", err, ev.calls)
	}
}

// proofChecker answers anchor:VerifyProofs with one valid verification per
// proof asked, or with short verifications fewer.
type proofChecker struct {
	calls []int
	short int
}

func (p *proofChecker) evaluate(_ context.Context, c Call) ([]byte, error) {
	var reqs []model.ProofRequest
	if err := json.Unmarshal([]byte(c.Args[0]), &reqs); err != nil {
		return nil, err
	}
	p.calls = append(p.calls, len(reqs))
	vs := make([]model.Verification, len(reqs)-p.short)
	for i := range vs {
		vs[i] = model.Verification{Valid: true, Batch: &model.BatchAnchor{BatchID: reqs[i].BatchID}}
	}
	return json.Marshal(vs)
}

func (p *proofChecker) submit(context.Context, Call) ([]byte, error) {
	return nil, errors.New("no submits")
}

// TestVerifyProofsInChunks: a list of proofs is one evaluation per
// model.MaxProofs proofs, answered in order; none for an empty list; an
// answer that does not have one verification per proof is an error.
func TestVerifyProofsInChunks(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		proofs int
		calls  []int
	}{
		{0, nil},
		{1, []int{1}},
		{model.MaxProofs, []int{model.MaxProofs}},
		{model.MaxProofs + 3, []int{model.MaxProofs, 3}},
	} {
		p := &proofChecker{}
		l := &Ledger{tx: p}
		reqs := make([]model.ProofRequest, tc.proofs)
		for i := range reqs {
			reqs[i].BatchID = fmt.Sprintf("b-%d", i)
		}
		vs, err := l.VerifyProofs(ctx, reqs)
		if err != nil || len(vs) != tc.proofs || !slices.Equal(p.calls, tc.calls) {
			t.Fatalf("%d proofs: %d verifications, calls %v, %v; want calls %v", tc.proofs, len(vs), p.calls, err, tc.calls)
		}
		for i, v := range vs {
			if v.Batch.BatchID != reqs[i].BatchID {
				t.Fatalf("verification %d answers %s", i, v.Batch.BatchID)
			}
		}
	}
	l := &Ledger{tx: &proofChecker{short: 1}}
	if _, err := l.VerifyProofs(ctx, make([]model.ProofRequest, 2)); CodeOf(err) != model.CodeInternal {
		t.Fatalf("one verification short: %v", err)
	}
}

// TestWaitForCommitNeedsAWaiter: a Ledger without a commit-status service
// says so rather than pretending the transaction committed.
func TestWaitForCommitNeedsAWaiter(t *testing.T) {
	l := &Ledger{tx: &recorder{}}
	if err := l.WaitForCommit(t.Context(), "tx-1"); CodeOf(err) != model.CodeInternal {
		t.Fatalf("no waiter: %v", err)
	}
	if err := NewReader(nil, "quanchain").WaitForCommit(t.Context(), "tx-1"); CodeOf(err) != model.CodeInternal {
		t.Fatalf("a reader: %v", err)
	}
}
