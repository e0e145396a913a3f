package ledgertest

import (
	"encoding/json"
	"fmt"
)

// Rewrite is the one write that bypasses the contracts, and it is for
// tests only: it replaces the stored JSON of one object of the chaincode's
// state with edit's change of it, in a block of its own that no
// transaction of the chaincode made, and records no Call. objectType is a
// key type as registry:History names them ("batch", "institution" …), id
// the object's id ("" for "config").
//
// It exists for the states no transaction can reach, which a client's own
// checks must still handle: a batch whose root or transaction id differs
// from the one the provider anchored, an institution whose data-encryption
// key is gone. Every other state is reached through the contracts.
func Rewrite[T any](n *Network, objectType, id string, edit func(*T)) error {
	n.mu.Lock()
	n.seq++
	txID := fmt.Sprintf("ledgertest-rewrite-%d", n.seq)
	n.mu.Unlock()
	stub := n.state.NewTx(txID, n.clock(), nil, "ledgertest:Rewrite")
	var attrs []string
	if id != "" {
		attrs = []string{id}
	}
	key, err := stub.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return fmt.Errorf("rewrite %s %s: %w", objectType, id, err)
	}
	raw, err := stub.GetState(key)
	if err != nil {
		return fmt.Errorf("rewrite %s %s: %w", objectType, id, err)
	}
	if raw == nil {
		return fmt.Errorf("rewrite %s %s: no such object", objectType, id)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("rewrite %s %s: %w", objectType, id, err)
	}
	edit(v)
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rewrite %s %s: %w", objectType, id, err)
	}
	if err := stub.PutState(key, b); err != nil {
		return fmt.Errorf("rewrite %s %s: %w", objectType, id, err)
	}
	err = stub.Commit()
	n.noteCommit()
	return err
}
