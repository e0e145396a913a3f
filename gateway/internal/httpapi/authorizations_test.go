package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/ledger"
)

// withCheck appends the GB 11643 check character to 17 digits.
func withCheck(s string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(s[i]-'0') * w[i]
	}
	return s + string("10X98765432"[sum%11])
}

var applicant = withCheck("37010219800101123")

func validBody(mod ...func(map[string]any)) string {
	m := map[string]any{
		"citizen_id": applicant, "purpose": "CREDIT_ASSESSMENT", "categories": []string{"housing_fund", "tax"},
		"data_from": "2025-11-01", "data_to": "2026-10-31", "valid_until": "2026-11-30T00:00:00Z",
		"max_uses": 2, "reference": "LOAN-2026-0001",
	}
	for _, f := range mod {
		f(m)
	}
	b, _ := jsonMarshal(m)
	return b
}

func TestCreateAuthorization(t *testing.T) {
	h := newHarness(t)
	w := h.do("POST", "/v1/authorizations", validBody())
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	a := decodeBody[model.Authorization](t, w)
	// The bank's pairwise ref, not the operator's vault ref; the lookup is
	// recorded with the request's purpose and the authorisation's id.
	vaultRef, _ := h.srv.Pseudonyms.Ref(applicant)
	ref := h.srv.Pseudonyms.PairwiseRef("BankMSP", vaultRef)
	if a.CitizenRef != ref || a.CitizenRef == vaultRef || a.ReferenceHash != testReferenceKey.Hash("LOAN-2026-0001") || a.Status != model.AuthPending {
		t.Errorf("authorisation %+v", a)
	}
	lookups, err := h.lookups.PseudonymLookups(t.Context(), vaultRef, 10)
	if err != nil || len(lookups) != 1 || lookups[0].RequesterMSP != "BankMSP" || lookups[0].PairwiseRef != ref ||
		lookups[0].Purpose != "CREDIT_ASSESSMENT" || lookups[0].AuthorizationID != a.ID {
		t.Errorf("lookups %+v, %v", lookups, err)
	}
	if !strings.HasPrefix(a.ID, "auth-") || len(a.ID) != 25 || w.Header().Get("Location") != "/v1/authorizations/"+a.ID {
		t.Errorf("id %q, location %q", a.ID, w.Header().Get("Location"))
	}
	if strings.Contains(w.Body.String(), applicant) {
		t.Error("the ID number leaked into the response")
	}
}

func TestCreateAuthorizationRefusals(t *testing.T) {
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name   string
		body   string
		header []string
		status int
		code   string
	}{
		{"malformed json", `{"citizen_id":`, nil, 400, CodeMalformedJSON},
		{"syntax error", `{citizen_id: 1}`, nil, 400, CodeMalformedJSON},
		{"not an object", `[1,2]`, nil, 400, CodeMalformedJSON},
		{"empty body", ``, []string{"Content-Type", "application/json"}, 400, CodeMalformedJSON},
		{"unknown field", validBody(func(m map[string]any) { m["citizen_ref"] = "x" }), nil, 400, CodeMalformedJSON},
		{"wrong type", validBody(func(m map[string]any) { m["max_uses"] = "2" }), nil, 400, CodeMalformedJSON},
		{"wrong type array", validBody(func(m map[string]any) { m["categories"] = "tax" }), nil, 400, CodeMalformedJSON},
		{"trailing data", validBody() + `{}`, nil, 400, CodeMalformedJSON},
		{"oversized", validBody(func(m map[string]any) { m["reference"] = big }), nil, 413, CodeBodyTooLarge},
		{"not json", validBody(), []string{"Content-Type", "text/plain"}, 415, CodeUnsupportedMedia},
		{"bad check digit", validBody(func(m map[string]any) { m["citizen_id"] = applicant[:17] + "0" }), nil, 400, CodeInvalidIDNumber},
		{"short id", validBody(func(m map[string]any) { m["citizen_id"] = "3701021980" }), nil, 400, CodeInvalidIDNumber},
		{"id is a ref", validBody(func(m map[string]any) { m["citizen_id"] = strings.Repeat("a", 64) }), nil, 400, CodeInvalidIDNumber},
		{"bad purpose", validBody(func(m map[string]any) { m["purpose"] = "credit" }), nil, 400, CodeInvalidArgument},
		{"no categories", validBody(func(m map[string]any) { m["categories"] = []string{} }), nil, 400, CodeInvalidArgument},
		{"duplicate category", validBody(func(m map[string]any) { m["categories"] = []string{"tax", "tax"} }), nil, 400, CodeInvalidArgument},
		{"bad category code", validBody(func(m map[string]any) { m["categories"] = []string{"Tax!"} }), nil, 400, CodeInvalidArgument},
		{"bad date", validBody(func(m map[string]any) { m["data_from"] = "2025-13-01" }), nil, 400, CodeInvalidArgument},
		{"range inverted", validBody(func(m map[string]any) { m["data_to"] = "2024-01-01" }), nil, 400, CodeInvalidArgument},
		{"valid_until past", validBody(func(m map[string]any) { m["valid_until"] = "2026-01-01T00:00:00Z" }), nil, 400, CodeInvalidArgument},
		{"zero uses", validBody(func(m map[string]any) { m["max_uses"] = 0 }), nil, 400, CodeInvalidArgument},
		{"no reference", validBody(func(m map[string]any) { m["reference"] = "" }), nil, 400, CodeInvalidArgument},
		{"unknown purpose", validBody(func(m map[string]any) { m["purpose"] = "GAMBLING" }), nil, 422, string(model.CodePurposeNotFound)},
		{"unknown category", validBody(func(m map[string]any) { m["categories"] = []string{"horoscope"} }), nil, 422, string(model.CodeCategoryNotFound)},
		{"category outside purpose", validBody(func(m map[string]any) { m["categories"] = []string{"medical_settlement"} }), nil, 422, string(model.CodePurposeLimitExceeded)},
		{"bad idempotency key", validBody(), []string{"Idempotency-Key", "k\x01"}, 400, CodeInvalidIdempotency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			w := h.do("POST", "/v1/authorizations", tt.body, tt.header...)
			if w.Code != tt.status || errCode(t, w) != tt.code {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if got := h.submitted(); len(got) != 0 {
				t.Fatalf("submitted %v", got)
			}
			if strings.Contains(w.Body.String(), applicant[:17]) {
				t.Error("the ID number leaked into the error")
			}
		})
	}
}

func TestTokensOnInstitutionRoutes(t *testing.T) {
	h := newHarness(t)
	citizen, _, _ := h.tokens.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: strings.Repeat("a", 64)})
	expired := forgeToken(t, h, jwt.SigningMethodES256, h.key.PrivateKey, func(c jwt.MapClaims) { c["exp"] = now.Add(-time1m).Unix() })
	other := newHarness(t)
	none := forgeToken(t, h, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)
	for name, hdr := range map[string]string{
		"missing": "", "malformed": "Bearer abc", "basic": "Basic Zm9vOmJhcg==",
		"citizen token": "Bearer " + citizen, "expired": "Bearer " + expired,
		"wrong key": "Bearer " + other.token, "alg none": "Bearer " + none,
	} {
		for _, rt := range []struct{ method, path, body string }{
			{"POST", "/v1/authorizations", validBody()},
			{"GET", "/v1/authorizations", ""},
			{"GET", "/v1/authorizations/auth-mine", ""},
			{"POST", "/v1/authorizations/auth-mine/withdraw", ""},
		} {
			t.Run(name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				w := h.do(rt.method, rt.path, rt.body, "Authorization", hdr)
				code := errCode(t, w)
				if w.Code != http.StatusUnauthorized || (code != auth.CodeInvalidToken && code != auth.CodeMissingToken) {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
				if strings.Contains(strings.ToLower(w.Body.String()), "signature") || strings.Contains(w.Body.String(), "expired") {
					t.Errorf("library error text leaked: %s", w.Body)
				}
			})
		}
	}
	if got := h.submitted(); len(got) != 0 {
		t.Fatalf("submitted %v", got)
	}
}

func TestGetListWithdraw(t *testing.T) {
	h := newHarness(t)
	if w := h.do("GET", "/v1/authorizations/auth-mine", ""); w.Code != 200 {
		t.Fatalf("own: %d %s", w.Code, w.Body)
	}
	for _, id := range []string{"auth-other", "auth-none", "x", "%2e%2e"} {
		if w := h.do("GET", "/v1/authorizations/"+id, ""); w.Code != 404 || errCode(t, w) != string(model.CodeAuthNotFound) {
			t.Errorf("%s: %d %s", id, w.Code, w.Body)
		}
	}
	w := h.do("GET", "/v1/authorizations?status=GRANTED", "")
	list := decodeBody[authorizationList](t, w)
	if w.Code != 200 || len(list.Items) != 1 || list.Items[0].ID != "auth-mine" {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	for _, q := range []string{"status=granted", "limit=0", "limit=abc", "foo=1", "cursor=" + strings.Repeat("a", 600)} {
		if w := h.do("GET", "/v1/authorizations?"+q, ""); w.Code != 400 || errCode(t, w) != CodeInvalidArgument {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w := h.do("POST", "/v1/authorizations/auth-other/withdraw", ""); w.Code != 404 {
		t.Errorf("withdraw another's: %d %s", w.Code, w.Body)
	}
	if got := h.submitted(); len(got) != 0 {
		t.Fatalf("submitted %v", got)
	}
	w = h.do("POST", "/v1/authorizations/auth-mine/withdraw", "")
	if w.Code != 200 || decodeBody[model.Authorization](t, w).Status != model.AuthWithdrawn {
		t.Fatalf("withdraw: %d %s", w.Code, w.Body)
	}
}

func TestLedgerErrorsRendered(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		code   string
		tx     string
	}{
		{&ledger.Error{Code: model.CodeAuthRevoked, Message: "revoked", TxID: "tx-5"}, 409, "AUTH_REVOKED", "tx-5"},
		{&ledger.Error{Code: model.CodeForbiddenMSP, Message: "no"}, 403, "FORBIDDEN_MSP", ""},
		{&ledger.Error{Code: model.CodePurposeLimitExceeded, Message: "too many"}, 422, "PURPOSE_LIMIT_EXCEEDED", ""},
		{&ledger.Error{Code: ledger.CodeUnavailable, Message: "down", Err: ledger.ErrUnavailable}, 503, "LEDGER_UNAVAILABLE", ""},
		{&ledger.Error{Code: ledger.CodeTxConflict, Message: "mvcc", TxID: "tx-6"}, 409, "TX_CONFLICT", "tx-6"},
		{&ledger.Error{Code: model.CodeInternal, Message: "secret detail"}, 500, "INTERNAL", ""},
		{fmt.Errorf("raw failure with secret detail"), 500, "INTERNAL", ""},
	} {
		h := newHarness(t)
		failSubmits(h.net, tt.err)
		w := h.do("POST", "/v1/authorizations", validBody())
		b := decodeBody[errorBody](t, w)
		if w.Code != tt.status || b.Error.Code != tt.code || b.Error.TxID != tt.tx || strings.Contains(w.Body.String(), "secret") {
			t.Errorf("%v: got %d %s", tt.err, w.Code, w.Body)
		}
	}
}

func TestEveryLedgerCodeHasAStatus(t *testing.T) {
	for _, c := range model.AllCodes() {
		if _, ok := ledgerStatus[c]; !ok {
			t.Errorf("no HTTP status for %s", c)
		}
	}
}
