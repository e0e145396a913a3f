package model_test

import (
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

func TestAuthorizationUsable(t *testing.T) {
	bank := func(status string) *model.Institution {
		return &model.Institution{MSPID: "BankMSP", Kind: model.KindBank, Status: status}
	}
	for _, tc := range []struct {
		name      string
		edit      func(a *model.Authorization)
		requester *model.Institution
		now       time.Time
		want      model.Code
	}{
		{"granted", nil, bank(model.StatusActive), issued, ""},
		{"last use left", func(a *model.Authorization) { a.Uses = 1 }, bank(model.StatusActive), issued, ""},
		{"pending", func(a *model.Authorization) { a.Status = model.AuthPending }, bank(model.StatusActive), issued, model.CodeAuthNotGranted},
		{"paused", func(a *model.Authorization) { a.Status = model.AuthPaused }, bank(model.StatusActive), issued, model.CodeAuthPaused},
		{"denied", func(a *model.Authorization) { a.Status = model.AuthDenied }, bank(model.StatusActive), issued, model.CodeAuthDenied},
		{"revoked", func(a *model.Authorization) { a.Status = model.AuthRevoked }, bank(model.StatusActive), issued, model.CodeAuthRevoked},
		{"withdrawn", func(a *model.Authorization) { a.Status = model.AuthWithdrawn }, bank(model.StatusActive), issued, model.CodeAuthWithdrawn},
		{"past its validity", nil, bank(model.StatusActive), issued.Add(8 * 24 * time.Hour), model.CodeAuthExpired},
		{"paused past its validity", func(a *model.Authorization) { a.Status = model.AuthPaused }, bank(model.StatusActive), issued.Add(8 * 24 * time.Hour), model.CodeAuthExpired},
		{"exhausted", func(a *model.Authorization) { a.Status = model.AuthExhausted; a.Uses = 2 }, bank(model.StatusActive), issued, model.CodeAuthExhausted},
		{"every use used, still granted", func(a *model.Authorization) { a.Uses = 2 }, bank(model.StatusActive), issued, model.CodeAuthExhausted},
		{"unknown status", func(a *model.Authorization) { a.Status = "LOST" }, bank(model.StatusActive), issued, model.CodeAuthNotGranted},
		{"requester suspended", nil, bank(model.StatusSuspended), issued, model.CodeInstitutionInactive},
		{"requester revoked", nil, bank(model.StatusRevoked), issued, model.CodeInstitutionInactive},
		{"revoked and requester suspended", func(a *model.Authorization) { a.Status = model.AuthRevoked }, bank(model.StatusSuspended), issued, model.CodeAuthRevoked},
		{"another institution", nil, &model.Institution{MSPID: "InsurerMSP", Status: model.StatusActive}, issued, model.CodeRequesterMismatch},
		{"no institution", nil, nil, issued, model.CodeRequesterMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sampleAuth()
			a.Status = model.AuthGranted
			if tc.edit != nil {
				tc.edit(a)
			}
			err := a.Usable(tc.requester, tc.now)
			if got := model.CodeOf(err); got != tc.want || (tc.want == "") != (err == nil) {
				t.Fatalf("Usable: %v, want code %q", err, tc.want)
			}
		})
	}
}

func TestAuthStatusErr(t *testing.T) {
	for s, want := range map[model.AuthStatus]model.Code{
		model.AuthDenied: model.CodeAuthDenied, model.AuthRevoked: model.CodeAuthRevoked,
		model.AuthWithdrawn: model.CodeAuthWithdrawn, model.AuthExpired: model.CodeAuthExpired,
		model.AuthExhausted: model.CodeAuthExhausted,
		model.AuthPending:   "", model.AuthGranted: "", model.AuthPaused: "",
	} {
		if got := model.CodeOf(s.Err()); got != want {
			t.Errorf("%s.Err() has code %q, want %q", s, got, want)
		}
	}
}

// TestAuthorizationRedeliverable: a delivery already made is handed out
// again however many uses are counted, and never after a revocation, a
// pause, the end of the validity or the institution's suspension.
func TestAuthorizationRedeliverable(t *testing.T) {
	active := &model.Institution{MSPID: "BankMSP", Kind: model.KindBank, Status: model.StatusActive}
	for _, tc := range []struct {
		name      string
		edit      func(a *model.Authorization)
		requester *model.Institution
		now       time.Time
		want      model.Code
	}{
		{"granted", nil, active, issued, ""},
		{"exhausted by this delivery", func(a *model.Authorization) { a.Status = model.AuthExhausted; a.Uses = 2 }, active, issued, ""},
		{"every use counted, still granted", func(a *model.Authorization) { a.Uses = 2 }, active, issued, ""},
		{"exhausted, then past its validity", func(a *model.Authorization) { a.Status = model.AuthExhausted; a.Uses = 2 }, active, issued.Add(8 * 24 * time.Hour), model.CodeAuthExpired},
		{"revoked", func(a *model.Authorization) { a.Status = model.AuthRevoked }, active, issued, model.CodeAuthRevoked},
		{"paused", func(a *model.Authorization) { a.Status = model.AuthPaused }, active, issued, model.CodeAuthPaused},
		{"withdrawn", func(a *model.Authorization) { a.Status = model.AuthWithdrawn }, active, issued, model.CodeAuthWithdrawn},
		{"requester suspended", nil, &model.Institution{MSPID: "BankMSP", Status: model.StatusSuspended}, issued, model.CodeInstitutionInactive},
		{"another institution", nil, &model.Institution{MSPID: "InsurerMSP", Status: model.StatusActive}, issued, model.CodeRequesterMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sampleAuth()
			a.Status = model.AuthGranted
			if tc.edit != nil {
				tc.edit(a)
			}
			before := *a
			err := a.Redeliverable(tc.requester, tc.now)
			if got := model.CodeOf(err); got != tc.want {
				t.Fatalf("Redeliverable: %v (code %q), want %q", err, got, tc.want)
			}
			if a.Status != before.Status || a.Uses != before.Uses {
				t.Fatal("Redeliverable changed the authorisation")
			}
		})
	}
}
