package fabnet

import (
	"context"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// readyTimeout bounds the wait for cross-organisation endorsement after
// start-up (gossip must discover every peer and its chaincode).
const readyTimeout = 120 * time.Second

// waitEndorsable waits until every organisation's gateway can collect
// endorsements that satisfy the chaincode's policy. It endorses (without
// submitting) the contract API's read-only GetMetadata, so it writes
// nothing: right after start-up the gateway reports "no combination of
// peers can be derived which satisfy the endorsement policy" until gossip
// has found the other organisations' peers.
func waitEndorsable(ctx context.Context, l Layout, t Topology) error {
	return parallel(t.PeerOrgs, func(o Org) error {
		return endorseProbe(ctx, l.StateDir, o.MSPID)
	})
}

// endorseProbe retries an endorsement as org until it succeeds.
func endorseProbe(ctx context.Context, stateDir, org string) error {
	conn, err := fabconn.Connect(ctx, stateDir, org)
	if err != nil {
		return err
	}
	defer conn.Close()
	contract := conn.Contract("org.hyperledger.fabric")
	return poll(ctx, "endorsement through the gateway of "+org, readyTimeout, 500*time.Millisecond, func() error {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		prop, err := contract.NewProposal("GetMetadata")
		if err != nil {
			return fmt.Errorf("proposal: %w", err)
		}
		if _, err := prop.EndorseWithContext(pctx); err != nil {
			return fmt.Errorf("endorse: %w", err)
		}
		return nil
	})
}
