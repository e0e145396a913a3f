package merkle_test

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/merkle"
)

// A provider anchors a batch of records by its root and size, then proves
// one record to a requester, who checks it against the anchored values.
func ExampleTree_Proof() {
	// The provider's batch: each leaf is the SHA-256 of one record, so the
	// records themselves never need to leave the provider.
	records := []string{
		`{"id":"HF-001","contribution":1200}`,
		`{"id":"HF-002","contribution":860}`,
		`{"id":"HF-003","contribution":2045}`,
		`{"id":"HF-004","contribution":1530}`,
		`{"id":"HF-005","contribution":990}`,
	}
	leaves := make([][]byte, len(records))
	for i, r := range records {
		sum := sha256.Sum256([]byte(r))
		leaves[i] = sum[:]
	}
	tree := merkle.New(leaves)
	root, size := tree.Root(), tree.Size() // anchored on the ledger

	// The provider proves record 2 to an authorised requester.
	const index = 2
	proof, err := tree.Proof(index)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d records, proof of record %d has %d hashes\n", size, index, len(proof))

	// The requester recomputes the leaf from the record it received and
	// checks it against the root and size read from the ledger.
	received := sha256.Sum256([]byte(records[index]))
	fmt.Println("genuine record:", merkle.VerifyInclusion(received[:], index, size, proof, root))

	altered := sha256.Sum256([]byte(`{"id":"HF-003","contribution":9999}`))
	err = merkle.VerifyInclusion(altered[:], index, size, proof, root)
	fmt.Println("altered record rejected:", errors.Is(err, merkle.ErrRootMismatch))

	// Output:
	// 5 records, proof of record 2 has 3 hashes
	// genuine record: <nil>
	// altered record rejected: true
}
