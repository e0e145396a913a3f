package model_test

import (
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"auth-0001", true},
		{"acc-KZ3Q7H2M4N5P6R7S8T9V", true},
		{"housing_fund-3f2a9c0d1e4b5a6978c0d1e2", true},
		{"a.b-c_d", true},
		{"ab", false},
		{"-abc", false},
		{strings.Repeat("a", 65), false},
		{"auth 1", false},
		// 16 or 17 digits are not an ID number's form.
		{"acc-1234567890123456", true},
		{"acc-12345678901234567", true},
		{"acc-1234567890123456X", true},
		// 17 digits and a digit or X, anywhere, in either case, valid
		// check character or not.
		{"370102199003071234", false},
		{"11010519491231002X", false},
		{"11010519491231002x", false},
		{"auth-370102199003071234", false},
		{"370102199003071234-auth", false},
		{"acc-x11010519491231002Xy", false},
		{"acc-123456789012345678", false},
		{"batch-9999999999999999999999", false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if got := model.ValidID(tc.id); got != tc.want {
				t.Fatalf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestHasIDNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"LOAN-2026-0042":                     false,
		"CLAIM 2026/0815":                    false,
		"11010519491231002X":                 true,
		"loan for 11010519491231002x please": true,
		"370102199003071234":                 true,
		"1234567890123456":                   false,
		"12345678901234567":                  false,
		"12345678901234567 8":                false,
	} {
		if got := model.HasIDNumber(s); got != want {
			t.Errorf("HasIDNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
