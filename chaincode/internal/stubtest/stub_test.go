package stubtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/chaincode/internal/stubtest"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// commit runs one committed transaction that applies fn.
func commit(t *testing.T, l *stubtest.Ledger, txID string, fn func(s *stubtest.Stub)) {
	t.Helper()
	s := l.NewTx(txID, t0, nil, "fn")
	fn(s)
	require.NoError(t, s.Commit())
}

func drain(t *testing.T, it shim.StateQueryIteratorInterface) []string {
	t.Helper()
	defer it.Close()
	var keys []string
	for it.HasNext() {
		kv, err := it.Next()
		require.NoError(t, err)
		keys = append(keys, kv.Key)
	}
	return keys
}

func TestCompositeKeyRoundTrip(t *testing.T) {
	s := stubtest.NewLedger("ch").NewTx("tx1", t0, nil, "fn")
	tests := []struct {
		name    string
		objType string
		attrs   []string
		want    string
		wantErr string
	}{
		{name: "no attributes", objType: "auth", want: "\x00auth\x00"},
		{name: "attributes", objType: "auth~citizen", attrs: []string{"ref1", "2025", "a1"}, want: "\x00auth~citizen\x00ref1\x002025\x00a1\x00"},
		{name: "empty attribute", objType: "t", attrs: []string{"", "x"}, want: "\x00t\x00\x00x\x00"},
		{name: "unicode", objType: "t", attrs: []string{"泉城"}, want: "\x00t\x00泉城\x00"},
		{name: "U+0000 refused", objType: "t", attrs: []string{"a\x00b"},
			wantErr: "input contains unicode U+0000 starting at position [1]. U+0000 and U+10FFFF are not allowed in the input attribute of a composite key"},
		{name: "U+10FFFF refused", objType: "t\U0010FFFF",
			wantErr: "input contains unicode U+10FFFF starting at position [1]. U+0000 and U+10FFFF are not allowed in the input attribute of a composite key"},
		{name: "invalid UTF-8 refused", objType: "t", attrs: []string{"\xff"}, wantErr: "not a valid utf8 string: [ff]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := s.CreateCompositeKey(tc.objType, tc.attrs)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, k)
			gotType, gotAttrs, err := s.SplitCompositeKey(k)
			require.NoError(t, err)
			assert.Equal(t, tc.objType, gotType)
			if len(tc.attrs) == 0 {
				assert.Empty(t, gotAttrs)
			} else {
				assert.Equal(t, tc.attrs, gotAttrs)
			}
		})
	}
	_, _, err := s.SplitCompositeKey("plain")
	assert.Error(t, err)
}

func TestRangeQueries(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) {
		for _, k := range []string{"a", "b", "c"} {
			require.NoError(t, s.PutState(k, []byte(k)))
		}
		ck, err := s.CreateCompositeKey("obj", []string{"x", "1"})
		require.NoError(t, err)
		require.NoError(t, s.PutState(ck, []byte{0}))
		ck, err = s.CreateCompositeKey("obj", []string{"y", "1"})
		require.NoError(t, err)
		require.NoError(t, s.PutState(ck, []byte{0}))
	})
	s := l.NewTx("q", t0, nil, "fn")
	tests := []struct {
		name, start, end string
		want             []string
		wantErr          bool
	}{
		{name: "unbounded excludes composite keys", want: []string{"a", "b", "c"}},
		{name: "end exclusive", start: "a", end: "c", want: []string{"a", "b"}},
		{name: "open end", start: "b", want: []string{"b", "c"}},
		{name: "empty range", start: "x", end: "z"},
		{name: "composite start refused", start: "\x00obj\x00", wantErr: true},
		{name: "composite end refused", end: "\x00obj\x00", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := s.GetStateByRange(tc.start, tc.end)
			if tc.wantErr {
				require.ErrorContains(t, err, "contains a null character which is not allowed")
				assert.Nil(t, it)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, drain(t, it))
		})
	}
	it, err := s.GetStateByPartialCompositeKey("obj", []string{"x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"\x00obj\x00x\x001\x00"}, drain(t, it))
}

func TestPaginationLoop(t *testing.T) {
	l := stubtest.NewLedger("ch")
	var want, wantComposite []string
	commit(t, l, "seed", func(s *stubtest.Stub) {
		for i := range 25 {
			k := fmt.Sprintf("key%02d", i)
			want = append(want, k)
			require.NoError(t, s.PutState(k, []byte("v")))
			ck, err := s.CreateCompositeKey("idx", []string{"c1", k})
			require.NoError(t, err)
			wantComposite = append(wantComposite, ck)
			require.NoError(t, s.PutState(ck, []byte{0}))
		}
		other, err := s.CreateCompositeKey("idx", []string{"c2", "z"})
		require.NoError(t, err)
		require.NoError(t, s.PutState(other, []byte{0}))
	})
	type page func(s *stubtest.Stub, bookmark string) (shim.StateQueryIteratorInterface, string, int32, error)
	tests := []struct {
		name      string
		query     page
		want      []string
		wantPages []int32
	}{
		{name: "range", want: want, wantPages: []int32{10, 10, 5},
			query: func(s *stubtest.Stub, bm string) (shim.StateQueryIteratorInterface, string, int32, error) {
				it, md, err := s.GetStateByRangeWithPagination("", "", 10, bm)
				if err != nil {
					return nil, "", 0, err
				}
				return it, md.Bookmark, md.FetchedRecordsCount, nil
			}},
		{name: "partial composite key", want: wantComposite, wantPages: []int32{10, 10, 5},
			query: func(s *stubtest.Stub, bm string) (shim.StateQueryIteratorInterface, string, int32, error) {
				it, md, err := s.GetStateByPartialCompositeKeyWithPagination("idx", []string{"c1"}, 10, bm)
				if err != nil {
					return nil, "", 0, err
				}
				return it, md.Bookmark, md.FetchedRecordsCount, nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := l.NewTx("page-"+tc.name, t0, nil, "fn")
			var got []string
			var pages []int32
			bookmark := ""
			for {
				it, next, n, err := tc.query(s, bookmark)
				require.NoError(t, err)
				keys := drain(t, it)
				assert.Len(t, keys, int(n))
				got = append(got, keys...)
				pages = append(pages, n)
				if next == "" {
					break
				}
				bookmark = next
				require.Less(t, len(pages), 10, "pagination does not terminate")
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantPages, pages)
		})
	}
}

func TestPaginationOnlyInReadOnlyTx(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("w", t0, nil, "fn")
	require.NoError(t, s.PutState("a", []byte("1")))
	_, _, err := s.GetStateByRangeWithPagination("", "", 10, "")
	require.EqualError(t, err, "txid [w]: unsuppored transaction. Paginated queries are supported only in a read-only transaction")
	_, _, err = s.GetStateByPartialCompositeKeyWithPagination("idx", nil, 10, "")
	require.Error(t, err)

	r := l.NewTx("r", t0, nil, "fn")
	_, _, err = r.GetStateByRangeWithPagination("", "", 10, "")
	require.NoError(t, err)
	require.EqualError(t, r.PutState("a", []byte("1")),
		"txid [r]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed")

	// Page size 0 without a bookmark is not a paginated query for the peer.
	u := l.NewTx("u", t0, nil, "fn")
	require.NoError(t, u.PutState("a", []byte("1")))
	_, md, err := u.GetStateByRangeWithPagination("", "", 0, "")
	require.NoError(t, err)
	assert.Empty(t, md.Bookmark)
}

func TestReadsSeeOnlyCommittedState(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("old"))) })

	s := l.NewTx("tx", t0, nil, "fn")
	require.NoError(t, s.PutState("k", []byte("new")))
	require.NoError(t, s.PutState("fresh", []byte("x")))
	require.NoError(t, s.DelState("gone"))
	tests := []struct {
		key  string
		want []byte
	}{{"k", []byte("old")}, {"fresh", nil}}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, err := s.GetState(tc.key)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	it, err := s.GetStateByRange("", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"k"}, drain(t, it))

	require.NoError(t, s.Commit())
	assert.Equal(t, []byte("new"), l.Get("k"))
	assert.Equal(t, []string{"fresh", "k"}, l.Keys())
	_, err = s.GetState("k")
	require.Error(t, err, "a committed stub cannot be used")
}

func TestUncommittedTxLeavesNoTrace(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("v"))) })
	before, height := l.AllBytes(), l.Height()

	s := l.NewTx("abandoned", t0, []byte("creator"), "fn", "secret-arg")
	require.NoError(t, s.PutState("k", []byte("changed")))
	require.NoError(t, s.PutState("k2", []byte("new")))
	require.NoError(t, s.DelState("k"))
	require.NoError(t, s.SetEvent("E", []byte("payload")))
	assert.Len(t, s.WriteSet(), 2)
	assert.Equal(t, "E", s.Event().EventName)

	assert.Equal(t, before, l.AllBytes())
	assert.Equal(t, height, l.Height())
	assert.Equal(t, []byte("v"), l.Get("k"))
	assert.Equal(t, []string{"k"}, l.Keys())
	assert.Empty(t, l.Events())
	assert.Len(t, l.History("k"), 1)
}

func TestHistoryOrder(t *testing.T) {
	l := stubtest.NewLedger("ch")
	steps := []struct {
		txID  string
		value string // "" deletes
	}{{"t1", "v1"}, {"t2", "v2"}, {"t3", ""}, {"t4", "v4"}}
	for i, st := range steps {
		s := l.NewTx(st.txID, t0.Add(time.Duration(i)*time.Minute), nil, "fn")
		if st.value == "" {
			require.NoError(t, s.DelState("k"))
		} else {
			require.NoError(t, s.PutState("k", []byte(st.value)))
		}
		require.NoError(t, s.Commit())
	}
	uncommitted := l.NewTx("t5", t0, nil, "fn")
	require.NoError(t, uncommitted.PutState("k", []byte("v5")))

	it, err := l.NewTx("q", t0, nil, "fn").GetHistoryForKey("k")
	require.NoError(t, err)
	var got []string
	for i := 0; it.HasNext(); i++ {
		m, err := it.Next()
		require.NoError(t, err)
		want := steps[len(steps)-1-i] // newest first
		assert.Equal(t, want.txID, m.TxId)
		assert.Equal(t, want.value == "", m.IsDelete)
		assert.Equal(t, t0.Add(time.Duration(len(steps)-1-i)*time.Minute), m.Timestamp.AsTime())
		got = append(got, string(m.Value))
	}
	assert.Equal(t, []string{"v4", "", "v2", "v1"}, got)
	_, err = it.Next()
	require.Error(t, err)
	assert.Len(t, l.History("k"), 4)
	assert.Equal(t, "t1", l.History("k")[0].TxID)
}

func TestEmptyValueIsDelete(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("v"))) })
	commit(t, l, "empty", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte{})) })
	assert.Nil(t, l.Get("k"))
	assert.Empty(t, l.Keys())
	h := l.History("k")
	require.Len(t, h, 2)
	assert.True(t, h[1].IsDelete)
}

func TestEventsAndTimestamp(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("tx", t0, nil, "fn")
	require.EqualError(t, s.SetEvent("", nil), "event name can not be empty string")
	require.NoError(t, s.SetEvent("First", []byte("1")))
	require.NoError(t, s.SetEvent("Second", []byte("2")))
	require.Len(t, s.Events(), 1)
	assert.Equal(t, "Second", s.Event().EventName)
	ts, err := s.GetTxTimestamp()
	require.NoError(t, err)
	assert.True(t, ts.AsTime().Equal(t0))
	require.NoError(t, s.Commit())

	evs := l.Events()
	require.Len(t, evs, 1)
	assert.Equal(t, "Second", evs[0].EventName)
	assert.Equal(t, "tx", evs[0].TxId)
	assert.Equal(t, []byte("2"), evs[0].Payload)
}

func TestUnsupportedAPIs(t *testing.T) {
	s := stubtest.NewLedger("ch").NewTx("tx", t0, nil, "fn")
	_, err := s.GetQueryResult(`{"selector":{}}`)
	require.ErrorIs(t, err, stubtest.ErrRichQueryUnsupported)
	_, _, err = s.GetQueryResultWithPagination(`{}`, 10, "")
	require.ErrorIs(t, err, stubtest.ErrRichQueryUnsupported)
	_, err = s.GetPrivateData("coll", "k")
	require.ErrorIs(t, err, stubtest.ErrPrivateDataUnsupported)
	require.EqualError(t, s.PutPrivateData("", "k", []byte("v")), "collection must not be an empty string")
	assert.Equal(t, int32(shim.ERROR), s.InvokeChaincode("other", nil, "").Status)
}
