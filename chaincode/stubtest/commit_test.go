package stubtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

func TestMVCC(t *testing.T) {
	get := func(key string) func(*testing.T, *stubtest.Stub) error {
		return func(_ *testing.T, s *stubtest.Stub) error { _, err := s.GetState(key); return err }
	}
	put := func(key string) func(*testing.T, *stubtest.Stub) error {
		return func(_ *testing.T, s *stubtest.Stub) error { return s.PutState(key, []byte("b")) }
	}
	tests := []struct {
		name    string
		readA   func(t *testing.T, s *stubtest.Stub) error
		writeB  func(t *testing.T, s *stubtest.Stub) error
		wantErr error
	}{
		{name: "read key changed", wantErr: stubtest.ErrMVCCReadConflict, readA: get("k"), writeB: put("k")},
		{name: "read key deleted", wantErr: stubtest.ErrMVCCReadConflict, readA: get("k"),
			writeB: func(_ *testing.T, s *stubtest.Stub) error { return s.DelState("k") }},
		{name: "missing key created", wantErr: stubtest.ErrMVCCReadConflict, readA: get("new"), writeB: put("new")},
		{name: "phantom in range", wantErr: stubtest.ErrPhantomReadConflict,
			readA: func(t *testing.T, s *stubtest.Stub) error {
				it, err := s.GetStateByRange("a", "z")
				if err != nil {
					return err
				}
				drain(t, it)
				return nil
			},
			writeB: put("m")},
		{name: "unrelated key", wantErr: nil, readA: get("k"), writeB: put("other")},
		{name: "blind writes", wantErr: nil,
			readA:  func(*testing.T, *stubtest.Stub) error { return nil },
			writeB: put("k")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := stubtest.NewLedger("ch")
			commit(t, l, "seed", func(s *stubtest.Stub) error { return s.PutState("k", []byte("v")) })
			a := l.NewTx("A", t0, nil, "fn")
			b := l.NewTx("B", t0, nil, "fn")
			if err := tc.readA(t, a); err != nil {
				t.Fatalf("A reads: %v", err)
			}
			if err := tc.writeB(t, b); err != nil {
				t.Fatalf("B writes: %v", err)
			}
			if err := a.PutState("k", []byte("a")); err != nil {
				t.Fatalf("PutState: %v", err)
			}
			if err := b.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			err := a.Commit()
			txs := l.Transactions()
			last := txs[len(txs)-1]
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				if got := l.Get("k"); !bytes.Equal(got, []byte("a")) {
					t.Errorf(`l.Get("k") = %q, want %q`, got, []byte("a"))
				}
				if got := last.ValidationCode.String(); got != "VALID" {
					t.Errorf("last.ValidationCode.String() = %q, want %q", got, "VALID")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: %v, want %v", err, tc.wantErr)
			}
			if got, want := last.ValidationCode.String(), tc.wantErr.Error(); got != want {
				t.Errorf("last.ValidationCode.String() = %v, want %v", got, want)
			}
			if got := l.Get("k"); bytes.Equal(got, []byte("a")) {
				t.Errorf("an invalid transaction must not write: got %q, want anything else", got)
			}
			if err := a.Commit(); !errors.Is(err, stubtest.ErrAlreadyCommitted) {
				t.Fatalf("Commit: %v, want %v", err, stubtest.ErrAlreadyCommitted)
			}
		})
	}
}

func TestDuplicateTxID(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "same", func(s *stubtest.Stub) error { return s.PutState("k", []byte("1")) })
	s := l.NewTx("same", t0, nil, "fn")
	if err := s.PutState("k", []byte("2")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if err := s.Commit(); !errors.Is(err, stubtest.ErrDuplicateTxID) {
		t.Fatalf("Commit: %v, want %v", err, stubtest.ErrDuplicateTxID)
	}
	if got := l.Get("k"); !bytes.Equal(got, []byte("1")) {
		t.Errorf(`l.Get("k") = %q, want %q`, got, []byte("1"))
	}
	// The ID's status is the first transaction's.
	if tx, ok := l.Transaction("same"); !ok || tx.Block != 1 || tx.ValidationCode != peer.TxValidationCode_VALID {
		t.Errorf(`Transaction("same") = block %d %s, %v; want block 1 VALID`, tx.Block, tx.ValidationCode, ok)
	}
	if txs := l.Transactions(); len(txs) != 2 || txs[1].ValidationCode != peer.TxValidationCode_DUPLICATE_TXID {
		t.Errorf("the second transaction is not logged DUPLICATE_TXID: %+v", txs)
	}
	if _, ok := l.Transaction("other"); ok {
		t.Error(`Transaction("other") found`)
	}
}

func TestConcurrentCommits(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) error { return s.PutState("n", []byte{1}) })
	const workers = 16
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := l.NewTx(fmt.Sprintf("inc%d", i), t0, nil, "fn")
			v, err := s.GetState("n")
			if err != nil {
				results <- err
				return
			}
			if err := s.PutState("n", []byte{v[0] + 1}); err != nil {
				results <- err
				return
			}
			results <- s.Commit()
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		if err == nil {
			ok++
			continue
		}
		if !errors.Is(err, stubtest.ErrMVCCReadConflict) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok < 1 {
		t.Fatal("no transaction committed")
	}
	if got := l.Get("n"); !bytes.Equal(got, []byte{byte(1 + ok)}) {
		t.Errorf("every successful increment counts exactly once: got %q, want %q", got, []byte{byte(1 + ok)})
	}
	if got, want := l.Height(), uint64(1+workers); got != want {
		t.Errorf("l.Height() = %v, want %v", got, want)
	}
}
