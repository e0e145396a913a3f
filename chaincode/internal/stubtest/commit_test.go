package stubtest_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/chaincode/internal/stubtest"
)

func TestMVCC(t *testing.T) {
	tests := []struct {
		name    string
		readA   func(t *testing.T, s *stubtest.Stub)
		writeB  func(t *testing.T, s *stubtest.Stub)
		wantErr error
	}{
		{name: "read key changed", wantErr: stubtest.ErrMVCCReadConflict,
			readA:  func(t *testing.T, s *stubtest.Stub) { _, err := s.GetState("k"); require.NoError(t, err) },
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("b"))) }},
		{name: "read key deleted", wantErr: stubtest.ErrMVCCReadConflict,
			readA:  func(t *testing.T, s *stubtest.Stub) { _, err := s.GetState("k"); require.NoError(t, err) },
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.DelState("k")) }},
		{name: "missing key created", wantErr: stubtest.ErrMVCCReadConflict,
			readA:  func(t *testing.T, s *stubtest.Stub) { _, err := s.GetState("new"); require.NoError(t, err) },
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.PutState("new", []byte("b"))) }},
		{name: "phantom in range", wantErr: stubtest.ErrPhantomReadConflict,
			readA: func(t *testing.T, s *stubtest.Stub) {
				it, err := s.GetStateByRange("a", "z")
				require.NoError(t, err)
				drain(t, it)
			},
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.PutState("m", []byte("b"))) }},
		{name: "unrelated key", wantErr: nil,
			readA:  func(t *testing.T, s *stubtest.Stub) { _, err := s.GetState("k"); require.NoError(t, err) },
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.PutState("other", []byte("b"))) }},
		{name: "blind writes", wantErr: nil,
			readA:  func(t *testing.T, s *stubtest.Stub) {},
			writeB: func(t *testing.T, s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("b"))) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := stubtest.NewLedger("ch")
			commit(t, l, "seed", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("v"))) })
			a := l.NewTx("A", t0, nil, "fn")
			b := l.NewTx("B", t0, nil, "fn")
			tc.readA(t, a)
			tc.writeB(t, b)
			require.NoError(t, a.PutState("k", []byte("a")))
			require.NoError(t, b.Commit())
			err := a.Commit()
			txs := l.Transactions()
			last := txs[len(txs)-1]
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, []byte("a"), l.Get("k"))
				assert.Equal(t, "VALID", last.ValidationCode.String())
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.wantErr.Error(), last.ValidationCode.String())
			assert.NotEqual(t, []byte("a"), l.Get("k"), "an invalid transaction must not write")
			require.ErrorIs(t, a.Commit(), stubtest.ErrAlreadyCommitted)
		})
	}
}

func TestDuplicateTxID(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "same", func(s *stubtest.Stub) { require.NoError(t, s.PutState("k", []byte("1"))) })
	s := l.NewTx("same", t0, nil, "fn")
	require.NoError(t, s.PutState("k", []byte("2")))
	require.ErrorIs(t, s.Commit(), stubtest.ErrDuplicateTxID)
	assert.Equal(t, []byte("1"), l.Get("k"))
}

func TestConcurrentCommits(t *testing.T) {
	l := stubtest.NewLedger("ch")
	commit(t, l, "seed", func(s *stubtest.Stub) { require.NoError(t, s.PutState("n", []byte{1})) })
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
		require.True(t, errors.Is(err, stubtest.ErrMVCCReadConflict), "unexpected error: %v", err)
	}
	require.GreaterOrEqual(t, ok, 1)
	assert.Equal(t, []byte{byte(1 + ok)}, l.Get("n"), "every successful increment counts exactly once")
	assert.Equal(t, uint64(1+workers), l.Height())
}
