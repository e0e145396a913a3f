package fabnet

import (
	"testing"

	"github.com/quanchain/quanchain/internal/demo"
)

// TestCollections: one collection per requester, read and written by the
// operator, that requester and the auditor only, written only with both
// the operator's and the requester's endorsement.
func TestCollections(t *testing.T) {
	reg, err := demo.LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]collection{}
	for _, c := range Collections(reg) {
		got[c.Name] = c
	}
	want := map[string]string{
		"req-BankMSP":    "OR('BureauMSP.member', 'BankMSP.member', 'AuditMSP.member')",
		"req-InsurerMSP": "OR('BureauMSP.member', 'InsurerMSP.member', 'AuditMSP.member')",
	}
	if len(got) != len(want) {
		t.Fatalf("collections %+v", got)
	}
	for name, policy := range want {
		c := got[name]
		if c.Policy != policy || !c.MemberOnlyRead || !c.MemberOnlyWrite || c.RequiredPeerCount < 1 || c.BlockToLive != 0 {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if p := got["req-BankMSP"].EndorsementPolicy.SignaturePolicy; p != "AND('BureauMSP.peer', 'BankMSP.peer')" {
		t.Errorf("bank collection endorsement %q", p)
	}
}
