package stubtest_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/chaincode/internal/stubtest"
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
			assert.Equal(t, tc.wantFn, fn)
			assert.Equal(t, tc.wantArgs, params)
			assert.Equal(t, tc.wantRaw, tc.stub.GetArgs())
			slice, err := tc.stub.GetArgsSlice()
			require.NoError(t, err)
			assert.Equal(t, bytes.Join(tc.wantRaw, nil), slice)
			assert.Equal(t, "mychannel", tc.stub.GetChannelID())
			assert.Equal(t, "mychannel", l.ChannelID())
		})
	}
	s := l.NewTx("txd", t0, nil, "Fn").WithDecorations(map[string][]byte{"d": []byte("1")})
	assert.Equal(t, "txd", s.GetTxID())
	assert.Equal(t, []byte("1"), s.GetDecorations()["d"])
}

func TestPrivateDataRefused(t *testing.T) {
	s := stubtest.NewLedger("ch").NewTx("tx", t0, nil, "fn")
	calls := map[string]func() error{
		"GetPrivateData":     func() error { _, err := s.GetPrivateData("c", "k"); return err },
		"GetPrivateDataHash": func() error { _, err := s.GetPrivateDataHash("c", "k"); return err },
		"PutPrivateData":     func() error { return s.PutPrivateData("c", "k", []byte("v")) },
		"DelPrivateData":     func() error { return s.DelPrivateData("c", "k") },
		"PurgePrivateData":   func() error { return s.PurgePrivateData("c", "k") },
		"SetPrivateDataValidationParameter": func() error {
			return s.SetPrivateDataValidationParameter("c", "k", []byte("p"))
		},
		"GetPrivateDataValidationParameter": func() error {
			_, err := s.GetPrivateDataValidationParameter("c", "k")
			return err
		},
		"GetPrivateDataByRange": func() error { _, err := s.GetPrivateDataByRange("c", "a", "b"); return err },
		"GetPrivateDataByPartialCompositeKey": func() error {
			_, err := s.GetPrivateDataByPartialCompositeKey("c", "t", nil)
			return err
		},
		"GetPrivateDataQueryResult": func() error { _, err := s.GetPrivateDataQueryResult("c", "{}"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, call(), stubtest.ErrPrivateDataUnsupported)
		})
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
		require.NoError(t, p.setup(s))
		require.NoError(t, s.Commit(), "tx %d", i)
	}
	del := l.NewTx("del", t0, creator, "Fn")
	require.NoError(t, del.DelState("k2"))
	require.NoError(t, del.Commit())
	// An invalid transaction's arguments stay in its block.
	bad := l.NewTx("del", t0, creator, "Fn", "PII-invalid-arg")
	require.ErrorIs(t, bad.Commit(), stubtest.ErrDuplicateTxID)

	all := bytes.Join(l.AllBytes(), []byte{'|'})
	for _, want := range []string{"PII-value", "PII-key", "PII-event", "PII-history", "PII-arg-value", "PII-invalid-arg", "teller1"} {
		assert.True(t, bytes.Contains(all, []byte(want)), "AllBytes misses %q", want)
	}
}
