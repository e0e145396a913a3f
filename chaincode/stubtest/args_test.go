package stubtest_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

func TestArgsAndHeaders(t *testing.T) {
	l := stubtest.NewLedger("mychannel")
	tests := []struct {
		name     string
		stub     *stubtest.Stub
		wantFn   string
		wantArgs []string
		wantRaw  [][]byte
	}{
		{name: "string args", stub: l.NewTx("tx1", t0, nil, "C:Fn", "a", "b"),
			wantFn: "C:Fn", wantArgs: []string{"a", "b"}, wantRaw: [][]byte{[]byte("C:Fn"), []byte("a"), []byte("b")}},
		{name: "byte args", stub: l.NewTxBytes("tx2", t0, nil, [][]byte{[]byte("Fn"), {0xff}}),
			wantFn: "Fn", wantArgs: []string{"\xff"}, wantRaw: [][]byte{[]byte("Fn"), {0xff}}},
		{name: "no args", stub: l.NewTxBytes("tx3", t0, nil, nil), wantFn: "", wantArgs: []string{}, wantRaw: [][]byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn, params := tc.stub.GetFunctionAndParameters()
			if fn != tc.wantFn {
				t.Errorf("fn = %v, want %v", fn, tc.wantFn)
			}
			if !slices.Equal(params, tc.wantArgs) {
				t.Errorf("params = %v, want %v", params, tc.wantArgs)
			}
			if got := tc.stub.GetArgs(); !reflect.DeepEqual(got, tc.wantRaw) {
				t.Errorf("tc.stub.GetArgs() = %+v, want %+v", got, tc.wantRaw)
			}
			slice, err := tc.stub.GetArgsSlice()
			if err != nil {
				t.Fatalf("GetArgsSlice: %v", err)
			}
			if got, want := slice, bytes.Join(tc.wantRaw, nil); !bytes.Equal(got, want) {
				t.Errorf("slice = %q, want %q", got, want)
			}
			if got := tc.stub.GetChannelID(); got != "mychannel" {
				t.Errorf("tc.stub.GetChannelID() = %q, want %q", got, "mychannel")
			}
			if got := l.ChannelID(); got != "mychannel" {
				t.Errorf("l.ChannelID() = %q, want %q", got, "mychannel")
			}
		})
	}
	s := l.NewTx("txd", t0, nil, "Fn").WithDecorations(map[string][]byte{"d": []byte("1")})
	if got := s.GetTxID(); got != "txd" {
		t.Errorf("s.GetTxID() = %q, want %q", got, "txd")
	}
	if got := s.GetDecorations()["d"]; !bytes.Equal(got, []byte("1")) {
		t.Errorf(`s.GetDecorations()["d"] = %q, want %q`, got, []byte("1"))
	}
}

func TestAllBytesCoversTheLedger(t *testing.T) {
	l := stubtest.NewLedger("ch")
	creator := stubtest.MustIdentity("BankMSP", "teller1").Creator()
	places := []struct {
		name  string
		setup func(s *stubtest.Stub) error
	}{
		{name: "value", setup: func(s *stubtest.Stub) error { return s.PutState("k1", []byte("PII-value")) }},
		{name: "key", setup: func(s *stubtest.Stub) error { return s.PutState("PII-key", []byte("v")) }},
		{name: "event", setup: func(s *stubtest.Stub) error { return s.SetEvent("E", []byte("PII-event")) }},
		{name: "deleted value in history", setup: func(s *stubtest.Stub) error { return s.PutState("k2", []byte("PII-history")) }},
	}
	for i, p := range places {
		s := l.NewTx("tx-"+p.name, t0, creator, "Fn", "PII-arg-"+p.name)
		if err := p.setup(s); err != nil {
			t.Fatalf("setup: %v", err)
		}
		if err := s.Commit(); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	del := l.NewTx("del", t0, creator, "Fn")
	if err := del.DelState("k2"); err != nil {
		t.Fatalf("DelState: %v", err)
	}
	if err := del.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	// An invalid transaction's arguments stay in its block.
	bad := l.NewTx("del", t0, creator, "Fn", "PII-invalid-arg")
	if err := bad.Commit(); !errors.Is(err, stubtest.ErrDuplicateTxID) {
		t.Fatalf("Commit: %v, want %v", err, stubtest.ErrDuplicateTxID)
	}

	all := bytes.Join(l.AllBytes(), []byte{'|'})
	for _, want := range []string{"PII-value", "PII-key", "PII-event", "PII-history", "PII-arg-value", "PII-invalid-arg", "teller1"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("AllBytes misses %q", want)
		}
	}
}
