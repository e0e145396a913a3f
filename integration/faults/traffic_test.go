package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// traffic submits authorisation requests from several clients, as the
// gateways do (fabconn.Submit), until stopped, and records every
// outcome.
type traffic struct {
	t      *testing.T
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	ok       []string // committed authorisation ids
	failed   map[string]error
	slowest  time.Duration
	lastDone time.Time
}

var runID = strconv36(time.Now().UnixNano())

// trafficRuns numbers the traffic of one test process.
var trafficRuns atomic.Int64

func strconv36(n int64) string { return fmt.Sprintf("%x", n) }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// startTraffic starts clients submitting as the bank.
func startTraffic(t *testing.T, clients int) *traffic {
	t.Helper()
	conn, err := testNet.Connection(context.Background(), "BankMSP")
	if err != nil {
		t.Fatal(err)
	}
	contract := conn.Contract("")
	ctx, cancel := context.WithCancel(context.Background())
	tr := &traffic{t: t, cancel: cancel, failed: map[string]error{}}
	run := trafficRuns.Add(1)
	for c := range clients {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("fault-%s-%d-%d-%d", runID, run, c, i)
				tr.submit(ctx, contract, id)
			}
		}()
	}
	return tr
}

func (tr *traffic) submit(ctx context.Context, contract *client.Contract, id string) {
	req := model.AuthorizationRequest{ID: id, CitizenRef: sha("citizen " + id), Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 1,
		ReferenceHash: sha("LOAN-" + id), Subject: sha("subject " + id)}
	body, _ := json.Marshal(req)
	start := time.Now()
	// A submission is given far longer than any recovery should take, so
	// a hang shows as its latency rather than as a cut-off error.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	_, _, err := fabconn.SubmitWith(sctx, contract, "consent:RequestAuthorization",
		client.WithTransient(map[string][]byte{model.TransientRequest: body}),
		client.WithEndorsingOrganizations("BureauMSP", "BankMSP"))
	took := time.Since(start)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.slowest = max(tr.slowest, took)
	tr.lastDone = time.Now()
	if err != nil {
		tr.failed[id] = err
		return
	}
	tr.ok = append(tr.ok, id)
}

// committed returns how many submissions have committed so far.
func (tr *traffic) committed() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.ok)
}

// stop ends the traffic and checks that every submission committed, and
// that every committed one is on the ledger, as read on the auditor's
// peer once it has the block.
func (tr *traffic) stop(ctx context.Context) {
	t := tr.t
	t.Helper()
	tr.cancel()
	tr.wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t.Logf("traffic: %d committed, %d failed, slowest submission %s", len(tr.ok), len(tr.failed), tr.slowest.Round(time.Millisecond))
	for id, err := range tr.failed {
		t.Errorf("submission %s failed: %v", id, err)
	}
	conn, err := testNet.Connection(ctx, "AuditMSP")
	if err != nil {
		t.Fatal(err)
	}
	contract := conn.Contract("")
	ids := slices.Clone(tr.ok)
	slices.Sort(ids)
	for _, id := range ids {
		if err := waitFor(ctx, 30*time.Second, func() error {
			_, err := contract.EvaluateWithContext(ctx, "consent:GetAuthorization", client.WithArguments(id))
			return err
		}); err != nil {
			t.Errorf("committed authorisation %s is not on the auditor's peer: %v", id, err)
		}
	}
}

// waitFor retries fn until it succeeds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
