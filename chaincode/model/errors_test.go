package model_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

func TestParseError(t *testing.T) {
	tests := []struct {
		text string
		code model.Code
		msg  string
		ok   bool
	}{
		{"AUTH_REVOKED: the citizen revoked this authorisation", model.CodeAuthRevoked, "the citizen revoked this authorisation", true},
		{"rpc error: code = Aborted desc = failed to endorse transaction, see attached details for more info; chaincode response 500, SIGNATURE_INVALID: signature does not verify", model.CodeSignatureInvalid, "signature does not verify", true},
		{"XAUTH_REVOKED: no", "", "", false},
		{"NOT_A_CODE: hello", "", "", false},
		{"plain failure", "", "", false},
		{"FORBIDDEN_MSP:no space", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := model.ParseError(tc.text)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && (got.Code != tc.code || got.Message != tc.msg) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestErrorIsAndCodes(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", model.Errf(model.CodeAuthExpired, "too late"))
	if !errors.Is(err, &model.Error{Code: model.CodeAuthExpired}) {
		t.Fatal("errors.Is by code failed")
	}
	if errors.Is(err, &model.Error{Code: model.CodeAuthRevoked}) {
		t.Fatal("errors.Is matched another code")
	}
	if model.CodeOf(err) != model.CodeAuthExpired || model.CodeOf(errors.New("x")) != "" {
		t.Fatal("CodeOf")
	}
	seen := map[model.Code]bool{}
	for _, c := range model.AllCodes() {
		if seen[c] || !c.Known() {
			t.Fatalf("code %s duplicated or unknown", c)
		}
		seen[c] = true
	}
}
