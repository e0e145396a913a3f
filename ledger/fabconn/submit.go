package fabconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/internal/backoff"
)

// Resubmission of a transaction that does not commit in time.
//
// The peer's gateway hands an endorsed transaction to one orderer. If that
// orderer crashes before the transaction reaches the Raft log, or if it has
// dropped out of the cluster and forwards nothing, the transaction is never
// ordered and the client would wait for its commit status until its
// deadline. Submit instead hands the same signed transaction to the
// ordering service again when its commit has not been seen within
// CommitWait. This is safe: a transaction id commits at most once (the
// peers mark a second copy invalid, DUPLICATE_TXID, and the commit status
// of the id stays that of the first), so a resubmission can never apply a
// write twice.
//
// Under load a commit can take longer than CommitWait while nothing is
// lost: the transactions queue at the orderers and the peers. Handing them
// over again then doubles the work of the ordering service and of every
// peer (each copy is ordered and validated) and slows every commit
// further. So the wait follows the commits this process has seen: four
// times their moving average, never less than CommitWait nor more than
// MaxCommitWait (commitPace).
const (
	// CommitWait is how long Submit waits for a commit before it hands the
	// transaction to the ordering service again, while commits are fast.
	// A commit normally takes 0.1–2 s here; a Raft leader election about
	// 3 s.
	CommitWait = 5 * time.Second
	// MaxCommitWait bounds the wait however slow recent commits were, so a
	// transaction an orderer dropped is handed over well within the
	// client's 30 s submit timeout.
	MaxCommitWait = 15 * time.Second
	// maxSubmits bounds the hand-overs of one transaction.
	maxSubmits = 4
	// submitRetryDelay is the pause after the ordering service refused a
	// hand-over (no orderer reachable, no Raft leader yet).
	submitRetryDelay = time.Second
)

// Submit endorses and submits a transaction and waits for it to commit,
// handing it to the ordering service again if it does not commit within
// CommitWait (see above). It returns the transaction's result, or the
// fabric-gateway client's errors: *client.EndorseError,
// *client.SubmitError, *client.CommitStatusError or *client.CommitError.
func Submit(ctx context.Context, c *client.Contract, name string, args ...string) ([]byte, error) {
	out, _, err := SubmitAt(ctx, c, name, args...)
	return out, err
}

// SubmitAt is Submit that also returns the number of the block the
// transaction committed in, as the connected peer saw it: a read on
// another organisation's peer that must see the write waits for that
// peer's height to pass it.
func SubmitAt(ctx context.Context, c *client.Contract, name string, args ...string) ([]byte, uint64, error) {
	return SubmitWith(ctx, c, name, client.WithArguments(args...))
}

// SubmitWith is SubmitAt for a proposal built with options: transient
// data, the endorsing organisations.
func SubmitWith(ctx context.Context, c *client.Contract, name string, opts ...client.ProposalOption) ([]byte, uint64, error) {
	prop, err := c.NewProposal(name, opts...)
	if err != nil {
		return nil, 0, err
	}
	txn, err := prop.EndorseWithContext(ctx)
	if err != nil {
		return nil, 0, err
	}
	result := txn.Result()
	pause := backoff.Backoff{Base: submitRetryDelay}
	var last error
	for attempt := 1; attempt <= maxSubmits; attempt++ {
		commit, err := txn.SubmitWithContext(ctx)
		if err != nil {
			last = err
			if ctx.Err() != nil || !retryableSubmit(err) {
				return nil, 0, err
			}
			if !pause.Wait(ctx) {
				return nil, 0, err
			}
			continue
		}
		sent := time.Now()
		wctx, cancel := context.WithTimeout(ctx, commits.wait())
		st, err := commit.StatusWithContext(wctx)
		cancel()
		if err == nil {
			commits.observe(time.Since(sent))
			if !st.Successful {
				return nil, st.BlockNumber, &commitFailure{id: st.TransactionID, code: st.Code}
			}
			return result, st.BlockNumber, nil
		}
		last = err
		if ctx.Err() != nil || !commitNotSeen(err) {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("transaction %s not committed after %d hand-overs to the ordering service: %w",
		txn.TransactionID(), maxSubmits, last)
}

// commits is the pace of the commits this process has waited for.
var commits commitPace

// commitPace is a moving average of commit latencies, from hand-over to
// the commit status.
type commitPace struct {
	mu  sync.Mutex
	avg time.Duration
}

// observe takes in one commit's latency (an exponential moving average
// over about the last eight).
func (p *commitPace) observe(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.avg == 0 {
		p.avg = d
		return
	}
	p.avg += (d - p.avg) / 8
}

// wait is how long to wait for a commit before handing the transaction
// over again: four times the average, within CommitWait and MaxCommitWait.
func (p *commitPace) wait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return min(max(4*p.avg, CommitWait), MaxCommitWait)
}

// retryableSubmit reports a hand-over the ordering service did not take.
func retryableSubmit(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted:
		return true
	}
	return false
}

// commitNotSeen reports a commit-status wait that ended without an answer.
func commitNotSeen(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}

// commitFailure is a transaction that committed invalid. It unwraps to the
// client's *client.CommitError, whose message the client keeps private.
type commitFailure struct {
	id   string
	code peer.TxValidationCode
}

func (e *commitFailure) Error() string {
	return fmt.Sprintf("transaction %s failed to commit with status code %d (%s)", e.id, int32(e.code), e.code)
}

func (e *commitFailure) Unwrap() error {
	return &client.CommitError{TransactionID: e.id, Code: e.code}
}
