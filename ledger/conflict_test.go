package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/quanchain/quanchain/chaincode/model"
)

// conflicting is a transactor whose submits fail with err the first
// failures times, then answer out.
type conflicting struct {
	failures int
	err      error
	out      string
	submits  []string
}

func (c *conflicting) evaluate(_ context.Context, call Call) ([]byte, error) {
	if call.Name == "consent:GetAuthorization" || call.Name == "access:GetAccess" {
		return []byte(`{"id":"auth-1","requester":"BankMSP"}`), nil
	}
	return nil, errors.New("not used")
}

func (c *conflicting) submit(_ context.Context, call Call) ([]byte, error) {
	c.submits = append(c.submits, call.Name)
	if len(c.submits) <= c.failures {
		return nil, c.err
	}
	return []byte(c.out), nil
}

// TestConflictsEndorsedAgain: a delivery or a decision that lost a write
// conflict is endorsed again, against the new state, a bounded number of
// times; other transactions and other failures are not.
func TestConflictsEndorsedAgain(t *testing.T) {
	ctx := context.Background()
	mvcc := &client.CommitError{TransactionID: "tx-1", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}
	refused := &client.CommitError{TransactionID: "tx-1", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE}
	access := model.AccessRequest{ID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP", Categories: []string{"tax"}}
	for _, tc := range []struct {
		name     string
		tx       *conflicting
		call     func(l *Ledger) error
		submits  int
		wantCode model.Code
	}{
		{"delivery after two conflicts", &conflicting{failures: 2, err: mvcc, out: `{"id":"acc-1"}`},
			func(l *Ledger) error { _, err := l.RecordAccess(ctx, access); return err }, 3, ""},
		{"decision after a conflict", &conflicting{failures: 1, err: mvcc, out: `{"id":"auth-1"}`},
			func(l *Ledger) error { _, err := l.Decide(ctx, "auth-1", []byte("{}"), "sig", "kid"); return err }, 2, ""},
		{"decision behind a burst of deliveries", &conflicting{failures: 20, err: mvcc, out: `{"id":"auth-1"}`},
			func(l *Ledger) error { _, err := l.Decide(ctx, "auth-1", []byte("{}"), "sig", "kid"); return err }, 21, ""},
		{"delivery that always conflicts", &conflicting{failures: 100, err: mvcc},
			func(l *Ledger) error { _, err := l.RecordAccess(ctx, access); return err }, conflictRetries, CodeTxConflict},
		{"delivery refused otherwise", &conflicting{failures: 100, err: refused},
			func(l *Ledger) error { _, err := l.RecordAccess(ctx, access); return err }, 1, CodeTxInvalid},
		{"request after a conflict is not retried", &conflicting{failures: 1, err: mvcc},
			func(l *Ledger) error {
				_, err := l.RequestAuthorization(ctx, model.AuthorizationRequest{ID: "auth-1"})
				return err
			}, 1, CodeTxConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(&Ledger{tx: tc.tx, msp: "BankMSP", operator: "BureauMSP"})
			if got := CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.wantCode)
			}
			if len(tc.tx.submits) != tc.submits {
				t.Fatalf("%d submits %v, want %d", len(tc.tx.submits), tc.tx.submits, tc.submits)
			}
		})
	}
}
