package contract_test

import (
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/contract"
	"github.com/quanchain/quanchain/chaincode/model"
)

// TestCeilingPut: the load test's trivial write stores one key under the
// ceiling's own object type and checks only the key and the value's size.
func TestCeilingPut(t *testing.T) {
	e := newEnvWith(t, contract.WithCeiling())
	events := len(e.ledger.Events())
	// No registry is needed, and any member may write: nothing else is checked.
	for _, msp := range []string{bankMSP, rogueMSP} {
		if _, err := e.call(msp, "ceiling:Put", "load-"+msp, "v1"); err != nil {
			t.Fatalf("Put as %s: %v", msp, err)
		}
	}
	if got := string(e.ledger.Get("\x00ceiling\x00load-BankMSP\x00")); got != "v1" {
		t.Fatalf("stored %q, want v1", got)
	}
	if n := len(e.ledger.Events()); n != events {
		t.Fatalf("Put emitted %d events, want none", n-events)
	}
	for _, tc := range []struct {
		name, id, value string
		want            model.Code
	}{
		{"short key", "ab", "v", model.CodeInvalidArgument},
		{"key with a slash", "a/b/c", "v", model.CodeInvalidArgument},
		{"key holding an ID number", "11010519491231002X", "v", model.CodeInvalidArgument},
		{"value too large", "load-big", strings.Repeat("x", 257), model.CodeInputTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(bankMSP, "ceiling:Put", tc.id, tc.value)
			wantCode(t, err, tc.want)
		})
	}
	if _, err := e.call(bankMSP, "ceiling:Put", "load-max", strings.Repeat("x", 256)); err != nil {
		t.Fatalf("a 256-byte value: %v", err)
	}
}

// TestCeilingAbsentByDefault: the chaincode a deployment runs has no
// ceiling contract.
func TestCeilingAbsentByDefault(t *testing.T) {
	e := newEnv(t)
	_, err := e.call(bankMSP, "ceiling:Put", "load-1", "v1")
	if err == nil || err.Error() != "Contract not found with name ceiling" {
		t.Fatalf("ceiling:Put without WithCeiling: %v, want the contract not found", err)
	}
	if got := e.ledger.Get("\x00ceiling\x00load-1\x00"); got != nil {
		t.Fatalf("stored %q", got)
	}
}
