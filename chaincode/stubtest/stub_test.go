package stubtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// commit runs one committed transaction that applies fn.
// commit runs fn in a new transaction txID and commits it.
func commit(t *testing.T, l *stubtest.Ledger, txID string, fn func(s *stubtest.Stub) error) {
	t.Helper()
	s := l.NewTx(txID, t0, nil, "fn")
	if err := fn(s); err != nil {
		t.Fatalf("transaction %s: %v", txID, err)
	}
	if err := s.Commit(); err != nil {
		t.Fatalf("Commit %s: %v", txID, err)
	}
}

func drain(t *testing.T, it shim.StateQueryIteratorInterface) []string {
	t.Helper()
	defer it.Close()
	var keys []string
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
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
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("CreateCompositeKey: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateCompositeKey: %v", err)
			}
			if k != tc.want {
				t.Errorf("k = %v, want %v", k, tc.want)
			}
			gotType, gotAttrs, err := s.SplitCompositeKey(k)
			if err != nil {
				t.Fatalf("SplitCompositeKey: %v", err)
			}
			if gotType != tc.objType {
				t.Errorf("gotType = %v, want %v", gotType, tc.objType)
			}
			if len(tc.attrs) == 0 {
				if len(gotAttrs) != 0 {
					t.Errorf("gotAttrs = %v, want none", gotAttrs)
				}
			} else {
				if !slices.Equal(gotAttrs, tc.attrs) {
					t.Errorf("gotAttrs = %v, want %v", gotAttrs, tc.attrs)
				}
			}
		})
	}
	_, _, err := s.SplitCompositeKey("plain")
	if err == nil {
		t.Error("SplitCompositeKey: got no error")
	}
}

func TestRangeQueries(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) error {
		for _, k := range []string{"a", "b", "c"} {
			if err := s.PutState(k, []byte(k)); err != nil {
				return err
			}
		}
		ck, err := s.CreateCompositeKey("obj", []string{"x", "1"})
		if err != nil {
			return err
		}
		if err := s.PutState(ck, []byte{0}); err != nil {
			return err
		}
		ck, err = s.CreateCompositeKey("obj", []string{"y", "1"})
		if err != nil {
			return err
		}
		return s.PutState(ck, []byte{0})
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
				if err == nil || !strings.Contains(err.Error(), "contains a null character which is not allowed") {
					t.Fatalf("GetStateByRange: %v, want an error containing %q", err, "contains a null character which is not allowed")
				}
				if it != nil {
					t.Errorf("it = %v, want nil", it)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetStateByRange: %v", err)
			}
			if got := drain(t, it); !slices.Equal(got, tc.want) {
				t.Errorf("drain(t, it) = %v, want %v", got, tc.want)
			}
		})
	}
	it, err := s.GetStateByPartialCompositeKey("obj", []string{"x"})
	if err != nil {
		t.Fatalf("GetStateByPartialCompositeKey: %v", err)
	}
	if got := drain(t, it); !slices.Equal(got, []string{"\x00obj\x00x\x001\x00"}) {
		t.Errorf("drain(t, it) = %v, want %v", got, []string{"\x00obj\x00x\x001\x00"})
	}
}

func TestPaginationLoop(t *testing.T) {
	l := stubtest.NewLedger("ch")
	var want, wantComposite []string
	commit(t, l, "seed", func(s *stubtest.Stub) error {
		for i := range 25 {
			k := fmt.Sprintf("key%02d", i)
			want = append(want, k)
			if err := s.PutState(k, []byte("v")); err != nil {
				return err
			}
			ck, err := s.CreateCompositeKey("idx", []string{"c1", k})
			if err != nil {
				return err
			}
			wantComposite = append(wantComposite, ck)
			if err := s.PutState(ck, []byte{0}); err != nil {
				return err
			}
		}
		other, err := s.CreateCompositeKey("idx", []string{"c2", "z"})
		if err != nil {
			return err
		}
		return s.PutState(other, []byte{0})
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
				if err != nil {
					t.Fatalf("query: %v", err)
				}
				keys := drain(t, it)
				if len(keys) != int(n) {
					t.Errorf("len(keys) = %d, want %d", len(keys), int(n))
				}
				got = append(got, keys...)
				pages = append(pages, n)
				if next == "" {
					break
				}
				bookmark = next
				if len(pages) >= 10 {
					t.Fatal("pagination does not terminate")
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got = %v, want %v", got, tc.want)
			}
			if !slices.Equal(pages, tc.wantPages) {
				t.Errorf("pages = %v, want %v", pages, tc.wantPages)
			}
		})
	}
}

func TestPaginationOnlyInReadOnlyTx(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("w", t0, nil, "fn")
	if err := s.PutState("a", []byte("1")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	_, _, err := s.GetStateByRangeWithPagination("", "", 10, "")
	if err == nil || err.Error() != "txid [w]: unsuppored transaction. Paginated queries are supported only in a read-only transaction" {
		t.Fatalf("GetStateByRangeWithPagination: %v, want %q", err, "txid [w]: unsuppored transaction. Paginated queries are supported only in a read-only transaction")
	}
	_, _, err = s.GetStateByPartialCompositeKeyWithPagination("idx", nil, 10, "")
	if err == nil {
		t.Fatal("GetStateByPartialCompositeKeyWithPagination: got no error")
	}

	r := l.NewTx("r", t0, nil, "fn")
	_, _, err = r.GetStateByRangeWithPagination("", "", 10, "")
	if err != nil {
		t.Fatalf("GetStateByRangeWithPagination: %v", err)
	}
	if err := r.PutState("a", []byte("1")); err == nil || err.Error() != "txid [r]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed" {
		t.Fatalf("PutState: %v, want %q", err, "txid [r]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed")
	}

	// Page size 0 without a bookmark is not a paginated query for the peer.
	u := l.NewTx("u", t0, nil, "fn")
	if err := u.PutState("a", []byte("1")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	_, md, err := u.GetStateByRangeWithPagination("", "", 0, "")
	if err != nil {
		t.Fatalf("GetStateByRangeWithPagination: %v", err)
	}
	if md.Bookmark != "" {
		t.Errorf("bookmark %q, want none", md.Bookmark)
	}
}

func TestReadsSeeOnlyCommittedState(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) error { return s.PutState("k", []byte("old")) })

	s := l.NewTx("tx", t0, nil, "fn")
	if err := s.PutState("k", []byte("new")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.PutState("fresh", []byte("x")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.DelState("gone"); err != nil {
		t.Fatalf("DelState: %v", err)
	}
	tests := []struct {
		key  string
		want []byte
	}{{"k", []byte("old")}, {"fresh", nil}}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, err := s.GetState(tc.key)
			if err != nil {
				t.Fatalf("GetState: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got = %q, want %q", got, tc.want)
			}
		})
	}
	it, err := s.GetStateByRange("", "")
	if err != nil {
		t.Fatalf("GetStateByRange: %v", err)
	}
	if got := drain(t, it); !slices.Equal(got, []string{"k"}) {
		t.Errorf("drain(t, it) = %v, want %v", got, []string{"k"})
	}

	if err := s.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := l.Get("k"); !bytes.Equal(got, []byte("new")) {
		t.Errorf(`l.Get("k") = %q, want %q`, got, []byte("new"))
	}
	if got := l.Keys(); !slices.Equal(got, []string{"fresh", "k"}) {
		t.Errorf("l.Keys() = %v, want %v", got, []string{"fresh", "k"})
	}
	_, err = s.GetState("k")
	if err == nil {
		t.Fatal("a committed stub cannot be used: got no error")
	}
}

func TestUncommittedTxLeavesNoTrace(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) error { return s.PutState("k", []byte("v")) })
	before, height := l.AllBytes(), l.Height()

	s := l.NewTx("abandoned", t0, []byte("creator"), "fn", "secret-arg")
	if err := s.PutState("k", []byte("changed")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.PutState("k2", []byte("new")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.DelState("k"); err != nil {
		t.Fatalf("DelState: %v", err)
	}
	if err := s.SetEvent("E", []byte("payload")); err != nil {
		t.Fatalf("SetEvent: %v", err)
	}
	if got := s.WriteSet(); len(got) != 2 {
		t.Errorf("s.WriteSet(): %d items, want %d", len(got), 2)
	}
	if got := s.Event().EventName; got != "E" {
		t.Errorf("s.Event().EventName = %q, want %q", got, "E")
	}

	if got := l.AllBytes(); !reflect.DeepEqual(got, before) {
		t.Errorf("l.AllBytes() = %+v, want %+v", got, before)
	}
	if got := l.Height(); got != height {
		t.Errorf("l.Height() = %v, want %v", got, height)
	}
	if got := l.Get("k"); !bytes.Equal(got, []byte("v")) {
		t.Errorf(`l.Get("k") = %q, want %q`, got, []byte("v"))
	}
	if got := l.Keys(); !slices.Equal(got, []string{"k"}) {
		t.Errorf("l.Keys() = %v, want %v", got, []string{"k"})
	}
	if ev := l.Events(); len(ev) != 0 {
		t.Errorf("events %v, want none", ev)
	}
	if got := l.History("k"); len(got) != 1 {
		t.Errorf(`l.History("k"): %d items, want %d`, len(got), 1)
	}
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
			if err := s.DelState("k"); err != nil {
				t.Fatalf("DelState: %v", err)
			}
		} else {
			if err := s.PutState("k", []byte(st.value)); err != nil {
				t.Fatalf("PutState: %v", err)
			}
		}
		if err := s.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	uncommitted := l.NewTx("t5", t0, nil, "fn")
	if err := uncommitted.PutState("k", []byte("v5")); err != nil {
		t.Fatalf("PutState: %v", err)
	}

	it, err := l.NewTx("q", t0, nil, "fn").GetHistoryForKey("k")
	if err != nil {
		t.Fatalf("NewTx: %v", err)
	}
	var got []string
	for i := 0; it.HasNext(); i++ {
		m, err := it.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		want := steps[len(steps)-1-i] // newest first
		if m.TxId != want.txID {
			t.Errorf("m.TxId = %v, want %v", m.TxId, want.txID)
		}
		if m.IsDelete != (want.value == "") {
			t.Errorf("m.IsDelete = %v, want %v", m.IsDelete, want.value == "")
		}
		if got, want := m.Timestamp.AsTime(), t0.Add(time.Duration(len(steps)-1-i)*time.Minute); got != want {
			t.Errorf("m.Timestamp.AsTime() = %v, want %v", got, want)
		}
		got = append(got, string(m.Value))
	}
	if !slices.Equal(got, []string{"v4", "", "v2", "v1"}) {
		t.Errorf("got = %v, want %v", got, []string{"v4", "", "v2", "v1"})
	}
	_, err = it.Next()
	if err == nil {
		t.Fatal("Next: got no error")
	}
	if got := l.History("k"); len(got) != 4 {
		t.Errorf(`l.History("k"): %d items, want %d`, len(got), 4)
	}
	if got := l.History("k")[0].TxID; got != "t1" {
		t.Errorf(`l.History("k")[0].TxID = %q, want %q`, got, "t1")
	}
}

func TestEmptyValueIsDelete(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) error { return s.PutState("k", []byte("v")) })
	commit(t, l, "empty", func(s *stubtest.Stub) error { return s.PutState("k", []byte{}) })
	if got := l.Get("k"); got != nil {
		t.Errorf(`l.Get("k") = %v, want nil`, got)
	}
	if keys := l.Keys(); len(keys) != 0 {
		t.Errorf("keys %v, want none", keys)
	}
	h := l.History("k")
	if len(h) != 2 {
		t.Fatalf("len(h) = %d, want %d", len(h), 2)
	}
	if !h[1].IsDelete {
		t.Error("h[1].IsDelete = false, want true")
	}
}

func TestEventsAndTimestamp(t *testing.T) {
	l := stubtest.NewLedger("ch")
	s := l.NewTx("tx", t0, nil, "fn")
	if err := s.SetEvent("", nil); err == nil || err.Error() != "event name can not be empty string" {
		t.Fatalf("SetEvent: %v, want %q", err, "event name can not be empty string")
	}
	if err := s.SetEvent("First", []byte("1")); err != nil {
		t.Fatalf("SetEvent: %v", err)
	}
	if err := s.SetEvent("Second", []byte("2")); err != nil {
		t.Fatalf("SetEvent: %v", err)
	}
	if got := s.Events(); len(got) != 1 {
		t.Fatalf("s.Events(): %d items, want %d", len(got), 1)
	}
	if got := s.Event().EventName; got != "Second" {
		t.Errorf("s.Event().EventName = %q, want %q", got, "Second")
	}
	ts, err := s.GetTxTimestamp()
	if err != nil {
		t.Fatalf("GetTxTimestamp: %v", err)
	}
	if !ts.AsTime().Equal(t0) {
		t.Errorf("ts.AsTime() = %v, want %v", ts.AsTime(), t0)
	}
	if err := s.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	evs := l.Events()
	if len(evs) != 1 {
		t.Fatalf("len(evs) = %d, want %d", len(evs), 1)
	}
	if evs[0].EventName != "Second" {
		t.Errorf("evs[0].EventName = %q, want %q", evs[0].EventName, "Second")
	}
	if evs[0].TxId != "tx" {
		t.Errorf("evs[0].TxId = %q, want %q", evs[0].TxId, "tx")
	}
	if !bytes.Equal(evs[0].Payload, []byte("2")) {
		t.Errorf("evs[0].Payload = %q, want %q", evs[0].Payload, []byte("2"))
	}
}

func TestUnsupportedAPIs(t *testing.T) {
	s := stubtest.NewLedger("ch").NewTx("tx", t0, nil, "fn")
	_, err := s.GetQueryResult(`{"selector":{}}`)
	if !errors.Is(err, stubtest.ErrRichQueryUnsupported) {
		t.Fatalf("GetQueryResult: %v, want %v", err, stubtest.ErrRichQueryUnsupported)
	}
	_, _, err = s.GetQueryResultWithPagination(`{}`, 10, "")
	if !errors.Is(err, stubtest.ErrRichQueryUnsupported) {
		t.Fatalf("GetQueryResultWithPagination: %v, want %v", err, stubtest.ErrRichQueryUnsupported)
	}
	_, err = s.GetPrivateData("coll", "k")
	if !errors.Is(err, stubtest.ErrCollectionUnknown) {
		t.Fatalf("GetPrivateData: %v, want %v", err, stubtest.ErrCollectionUnknown)
	}
	if err := s.PutPrivateData("", "k", []byte("v")); err == nil || err.Error() != "collection must not be an empty string" {
		t.Fatalf("PutPrivateData: %v, want %q", err, "collection must not be an empty string")
	}
	if got, want := s.InvokeChaincode("other", nil, "").Status, int32(shim.ERROR); got != want {
		t.Errorf(`s.InvokeChaincode("other", nil, "").Status = %v, want %v`, got, want)
	}
}
