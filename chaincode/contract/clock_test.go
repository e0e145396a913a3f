package contract_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestProposalTimeSkew: a client chooses its proposal's timestamp, so one
// dated 40 days ahead would pass the purpose's 30-day ceiling and record a
// false request time; the chaincode refuses any proposal more than five
// minutes from the endorsing peer's clock, before it reads or writes.
func TestProposalTimeSkew(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	req := lendingRequest("auth-future", citizenRef(1))
	req.ValidUntil = t0.Add(45 * 24 * time.Hour).Format(time.RFC3339) // within 30 days of the forged time

	for _, tc := range []struct {
		name   string
		skew   time.Duration
		wantOK bool
	}{
		{"40 days ahead", 40 * 24 * time.Hour, false},
		{"an hour behind", -time.Hour, false},
		{"six minutes ahead", 6 * time.Minute, false},
		{"four minutes ahead", 4 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			r.ID = fmt.Sprintf("auth-skew-%d", int(tc.skew/time.Minute))
			if tc.wantOK {
				r.ValidUntil = t0.Add(7 * 24 * time.Hour).Format(time.RFC3339)
			}
			args, tr := proposal("consent:RequestAuthorization", []string{mustJSON(r)})
			height := e.ledger.Height()
			stub := e.ledger.NewTx("tx-"+r.ID, t0.Add(tc.skew), e.ids[bankMSP].Creator(), "consent:RequestAuthorization", args...).WithTransient(tr)
			resp := e.cc.Invoke(stub)
			if tc.wantOK {
				if resp.GetStatus() != 200 {
					t.Fatalf("refused: %s", resp.GetMessage())
				}
				return
			}
			wantCode(t, errors.New(resp.GetMessage()), model.CodeClockSkew)
			if len(stub.WriteSet()) != 0 || e.ledger.Height() != height {
				t.Fatal("a refused proposal wrote")
			}
		})
	}
	// Reads are held to the same clock.
	stub := e.ledger.NewTx("q-future", t0.Add(time.Hour), e.ids[auditMSP].Creator(), "registry:GetConfig")
	wantCode(t, errors.New(e.cc.Invoke(stub).GetMessage()), model.CodeClockSkew)
}
