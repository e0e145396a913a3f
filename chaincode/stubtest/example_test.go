package stubtest_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

// Two transactions read the same key; the first to commit wins and the other
// fails validation, as on a Fabric peer.
func Example_mvccConflict() {
	l := stubtest.NewLedger("mychannel")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	seed := l.NewTx("seed", now, nil, "Seed")
	_ = seed.PutState("auth1", []byte("GRANTED"))
	_ = seed.Commit()

	revoke := l.NewTx("revoke", now, nil, "Revoke")
	deliver := l.NewTx("deliver", now, nil, "Deliver")
	_, _ = revoke.GetState("auth1")
	_, _ = deliver.GetState("auth1")
	_ = revoke.PutState("auth1", []byte("REVOKED"))
	_ = deliver.PutState("auth1", []byte("USED"))

	fmt.Println(revoke.Commit())
	err := deliver.Commit()
	fmt.Println(errors.Is(err, stubtest.ErrMVCCReadConflict))
	fmt.Println(string(l.Get("auth1")))
	// Output:
	// <nil>
	// true
	// REVOKED
}
