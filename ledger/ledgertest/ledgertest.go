// Package ledgertest runs the quanchain chaincode in process, for the tests
// of the ledger's clients (the gateway, qc, the network tool): a Network is
// one channel's ledger held in memory by chaincode/stubtest, and its
// Ledgers are *ledger.Ledger values whose transactions the real contracts
// of chaincode/contract run, through fabric-contract-api-go's dispatcher,
// as a client of the organisation they were asked for. So a client's test
// meets the chaincode's own rules, codes and messages, and a rule the
// client checks before it submits (a purpose's ceilings, whether an
// authorisation may be used) cannot drift from the chaincode's without a
// test noticing.
//
// # What a transaction does
//
// Evaluate runs the transaction on the state committed so far and commits
// nothing. Submit runs it and, if the chaincode accepted it, commits its
// writes as one block, validated as a peer validates it: a transaction
// whose reads changed under it since it started fails with the MVCC
// conflict a Fabric client gets, which the ledger client endorses again
// where that is safe. Every transaction has the time the Network's clock
// gives, and the identity of a client certificate of its organisation
// (an MSP ID is all it takes: the Network makes one identity per MSP).
// A Ledger's WaitForCommit waits until a transaction id is in the ledger,
// valid or not, as a peer's commit-status service does.
//
// # Errors
//
// A chaincode refusal reaches the caller as the Fabric Gateway sends it
// (a gRPC status with the peer's "chaincode response 500, CODE: message"
// in its details), read by ledger.MapError; a submitted transaction's
// refusal carries its transaction id, as a fabric-gateway EndorseError
// does. A test may make calls fail before they reach the chaincode
// (SetFault), to play an unreachable peer, and may read back every call
// the Ledgers were asked to run (Calls).
//
// # What it does not do
//
// The Ledgers have no chaincode event stream (their Events fails), and
// there is one peer, so endorsers never disagree. Rewrite is the one
// write that bypasses the contracts, for states no transaction can reach.
package ledgertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/contract"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/stubtest"
	"github.com/quanchain/quanchain/internal/demo"
	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/ledger"
)

// Channel is the channel of every Network, the one decision payloads name.
const Channel = "quanchain"

// Chaincode is the chaincode name the Network's Ledgers use.
const Chaincode = stubtest.ChaincodeName

// ErrUnavailable is what a Fabric client gets from a peer it cannot
// reach; a fault that returns it makes the ledger client answer
// ledger.CodeUnavailable.
var ErrUnavailable = status.Error(codes.Unavailable, "ledgertest: connection refused")

// Call is one transaction a Ledger of the Network was asked to run.
type Call struct {
	Org    string   // the MSP ID of the client it ran as
	Submit bool     // submitted to commit, not evaluated
	Name   string   // "contract:Transaction"
	Args   []string // its arguments as sent
	// Transient holds its private inputs, Endorsers the organisations the
	// client asked to endorse it (empty: the gateway's choice).
	Transient map[string][]byte
	Endorsers []string
	TxID      string
	// Err is why the call failed: the chaincode's refusal, a conflict at
	// commit, or the fault SetFault injected; nil if it succeeded (and,
	// for a submit, committed).
	Err error
}

// Network is one channel's ledger with the quanchain chaincode, in
// process. It is safe for concurrent use.
type Network struct {
	state    *stubtest.Ledger
	cc       *contractapi.ContractChaincode
	clock    func() time.Time
	provider *identitytest.Provider

	mu       sync.Mutex
	registry *demo.Registry // as bootstrapped
	ids      map[string]*stubtest.Identity
	seq      int
	calls    []Call
	fault    func(Call) error
	// committed is closed, and replaced, at every commit: it wakes the
	// commit-status waits.
	committed chan struct{}
}

// New returns a Network with an empty ledger: not bootstrapped, no
// registry. clock gives every transaction's time; nil means time.Now.
func New(tb testing.TB, clock func() time.Time) *Network {
	tb.Helper()
	if clock == nil {
		clock = time.Now
	}
	// Like a chaincode process, it serves concurrent transactions and
	// keeps no state between them; its peer's clock is the Network's, so
	// proposals stamped with the Network's time pass the skew check.
	cc, err := contract.New(contract.WithClock(clock, 0))
	if err != nil {
		tb.Fatalf("ledgertest: %v", err)
	}
	prov, err := sharedProvider()
	if err != nil {
		tb.Fatalf("ledgertest: identity provider: %v", err)
	}
	return &Network{state: stubtest.NewLedger(Channel), cc: cc, clock: clock, provider: prov, ids: map[string]*stubtest.Identity{},
		committed: make(chan struct{})}
}

// NewDemo returns a Network whose registry is the demo network's
// (internal/demo): BureauMSP the operator, BankMSP, InsurerMSP and
// AuditMSP, its categories and purposes. The bootstrap's calls are not
// kept (Calls starts empty).
func NewDemo(tb testing.TB, clock func() time.Time) *Network {
	tb.Helper()
	n := New(tb, clock)
	reg, err := demo.LoadRegistry()
	if err != nil {
		tb.Fatalf("ledgertest: %v", err)
	}
	if err := n.Bootstrap(context.Background(), reg); err != nil {
		tb.Fatalf("ledgertest: %v", err)
	}
	n.ClearCalls()
	return n
}

// Bootstrap writes reg through the typed client, as the network tool
// does: registry:Bootstrap as the operator, then, as the operator, the
// other institutions, the categories and the purposes.
func (n *Network) Bootstrap(ctx context.Context, reg *demo.Registry) error {
	op := n.Ledger(reg.Operator.MSPID)
	if err := op.Bootstrap(ctx, reg.Operator); err != nil {
		return fmt.Errorf("bootstrap %s: %w", reg.Operator.MSPID, err)
	}
	for _, inst := range reg.Institutions {
		if err := op.RegisterInstitution(ctx, inst); err != nil {
			return fmt.Errorf("register institution %s: %w", inst.MSPID, err)
		}
	}
	n.defineCollections(reg)
	n.mu.Lock()
	n.registry = reg
	n.mu.Unlock()
	for _, c := range reg.Categories {
		if err := op.RegisterCategory(ctx, c); err != nil {
			return fmt.Errorf("register category %s: %w", c.Code, err)
		}
	}
	for _, p := range reg.Purposes {
		if err := op.RegisterPurpose(ctx, p); err != nil {
			return fmt.Errorf("register purpose %s: %w", p.Code, err)
		}
	}
	return n.SetIdentityPolicy(ctx, n.Provider().Policy(identitytest.RPID, []string{identitytest.Origin}, true))
}

// Provider is the test identity provider whose ID tokens the Network's
// default identity policy trusts. It is shared by every Network of the
// process (its RSA key is made once).
func (n *Network) Provider() *identitytest.Provider { return n.provider }

// sharedProvider makes the process's test identity provider once.
func sharedProvider() (*identitytest.Provider, error) {
	providerOnce.Do(func() {
		testProvider, providerErr = identitytest.NewProvider(ProviderIssuer, ProviderAudience)
	})
	return testProvider, providerErr
}

// The issuer and audience of the Network's identity provider.
const (
	ProviderIssuer   = "https://id.ledgertest.example"
	ProviderAudience = "quanchain-gateway"
)

var (
	providerOnce sync.Once
	testProvider *identitytest.Provider
	providerErr  error
)

// SetIdentityPolicy puts p in force as the network does: the operator
// proposes it, an auditor organisation approves it. Bootstrap puts the
// Network's provider's policy in force, with plain WebCrypto keys
// allowed (a Device is one).
func (n *Network) SetIdentityPolicy(ctx context.Context, p model.IdentityPolicy) error {
	n.mu.Lock()
	reg := n.registry
	n.mu.Unlock()
	if reg == nil {
		return errors.New("ledgertest: the network is not bootstrapped")
	}
	auditor := ""
	for _, inst := range reg.Institutions {
		if inst.Kind == model.KindAuditor && auditor == "" {
			auditor = inst.MSPID
		}
	}
	if auditor == "" {
		return errors.New("ledgertest: the registry has no auditor organisation to approve an identity policy")
	}
	digest, err := n.Ledger(reg.Operator.MSPID).ProposeIdentityPolicy(ctx, p)
	if err != nil {
		return fmt.Errorf("propose identity policy: %w", err)
	}
	if err := n.Ledger(auditor).ApproveIdentityPolicy(ctx, digest); err != nil {
		return fmt.Errorf("approve identity policy: %w", err)
	}
	return nil
}

// defineCollections gives each requester of reg its private data
// collection, as the chaincode definition of the network does: the
// operator, the requester and the auditors are its members.
func (n *Network) defineCollections(reg *demo.Registry) {
	var auditors []string
	for _, inst := range reg.Institutions {
		if inst.Kind == model.KindAuditor {
			auditors = append(auditors, inst.MSPID)
		}
	}
	for _, inst := range reg.Institutions {
		if inst.Kind.MayRequest() {
			n.state.DefineCollection(model.CollectionOf(inst.MSPID), append([]string{reg.Operator.MSPID, inst.MSPID}, auditors...)...)
		}
	}
}

// Requesters returns the MSP IDs of the organisations that have a private
// data collection, sorted.
func (n *Network) Requesters() []string {
	n.mu.Lock()
	reg := n.registry
	n.mu.Unlock()
	var out []string
	if reg == nil {
		return nil
	}
	for _, inst := range reg.Institutions {
		if inst.Kind.MayRequest() {
			out = append(out, inst.MSPID)
		}
	}
	slices.Sort(out)
	return out
}

// Ledger returns the chaincode as a client of organisation mspID sees it.
// It has no event source.
func (n *Network) Ledger(mspID string) *ledger.Ledger {
	return ledger.NewWithTransactor(transactor{n: n, org: mspID}, nil, Chaincode, mspID)
}

// Evaluate runs a transaction as mspID without committing it, for the
// transactions the typed client has no method for; errors are as the
// typed client's.
func (n *Network) Evaluate(ctx context.Context, mspID, name string, args ...string) ([]byte, error) {
	out, err := n.run(ctx, mspID, false, ledger.Call{Name: name, Args: args})
	return out, ledger.MapError(name, err)
}

// Submit runs a transaction as mspID and commits it, for the transactions
// the typed client has no method for (anchor:AnchorRecord,
// anchor:RevokeRecord, registry:SetInstitutionStatus …); errors are as
// the typed client's.
func (n *Network) Submit(ctx context.Context, mspID, name string, args ...string) ([]byte, error) {
	out, err := n.run(ctx, mspID, true, ledger.Call{Name: name, Args: args})
	return out, ledger.MapError(name, err)
}

// State is the ledger the Network keeps: its world state, key history,
// blocks and events, for a test to inspect.
func (n *Network) State() *stubtest.Ledger { return n.state }

// Now is the time the next transaction will have.
func (n *Network) Now() time.Time { return n.clock() }

// SetFault makes every call for which f returns an error fail with it
// before it reaches the chaincode; nil removes the fault. The error
// reaches the ledger client as a Fabric client's error would (give it
// ErrUnavailable, a gRPC status, or a *ledger.Error).
func (n *Network) SetFault(f func(Call) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fault = f
}

// Calls returns the calls made since the Network started or since the last
// ClearCalls, in the order they finished: the client's and the test's own
// (Submit, Enrol, Decide …), successful or not.
func (n *Network) Calls() []Call {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Call, len(n.calls))
	for i, c := range n.calls {
		c.Args = slices.Clone(c.Args)
		out[i] = c
	}
	return out
}

// ClearCalls forgets the calls made so far: a test clears them after its
// set-up, so that Calls holds what the code under test asked for.
func (n *Network) ClearCalls() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = nil
}

// transactor runs a Ledger's transactions as one organisation.
type transactor struct {
	n   *Network
	org string
}

func (t transactor) Evaluate(ctx context.Context, c ledger.Call) ([]byte, error) {
	return t.n.run(ctx, t.org, false, c)
}

func (t transactor) Submit(ctx context.Context, c ledger.Call) ([]byte, error) {
	return t.n.run(ctx, t.org, true, c)
}

// WaitForCommit makes the Ledgers ledger.CommitWaiters.
func (t transactor) WaitForCommit(ctx context.Context, txID string) (uint64, error) {
	return t.n.WaitForCommit(ctx, t.org, txID)
}

// CommitStatus is the name of the Call a SetFault function sees for a
// commit-status wait (ledger.Ledger.WaitForCommit); its Args hold the
// transaction id. Such waits are not transactions: Calls does not list
// them.
const CommitStatus = "commit status"

// WaitForCommit waits, as org, until the transaction txID is in the ledger
// or ctx ends, as the Fabric Gateway's CommitStatus service does: it
// returns the transaction's block, or, if it committed invalid, a
// *client.CommitError with its validation code (in the chain); if ctx
// ends first, ctx's error. A fault SetFault sets applies to it (Name
// CommitStatus).
func (n *Network) WaitForCommit(ctx context.Context, org, txID string) (uint64, error) {
	n.mu.Lock()
	fault := n.fault
	n.mu.Unlock()
	if fault != nil {
		if err := fault(Call{Org: org, Name: CommitStatus, Args: []string{txID}}); err != nil {
			return 0, err
		}
	}
	for {
		n.mu.Lock()
		wake := n.committed
		n.mu.Unlock()
		if tx, ok := n.state.Transaction(txID); ok {
			if tx.ValidationCode != peer.TxValidationCode_VALID {
				return tx.Block, &commitError{CommitError: &client.CommitError{TransactionID: txID, Code: tx.ValidationCode},
					cause: errors.New("the committer marked it invalid")}
			}
			return tx.Block, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// noteCommit wakes the commit-status waits after a commit.
func (n *Network) noteCommit() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.committed)
	n.committed = make(chan struct{})
}

// run runs one call, records it and returns the chaincode's answer.
func (n *Network) run(ctx context.Context, org string, submit bool, lc ledger.Call) ([]byte, error) {
	n.mu.Lock()
	n.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "ledgertest transaction %d", n.seq))
	c := Call{Org: org, Submit: submit, Name: lc.Name, Args: slices.Clone(lc.Args), Transient: lc.Transient,
		Endorsers: slices.Clone(lc.Endorsers), TxID: hex.EncodeToString(sum[:])}
	id := n.identity(org)
	fault := n.fault
	n.mu.Unlock()

	var out []byte
	c.Err = ctx.Err()
	if c.Err == nil && fault != nil {
		c.Err = fault(c)
	}
	if c.Err == nil {
		out, c.Err = n.invoke(id, c)
	}
	n.mu.Lock()
	n.calls = append(n.calls, c)
	n.mu.Unlock()
	return out, c.Err
}

// identity returns the client identity of org, made on first use. The
// caller holds n.mu.
func (n *Network) identity(org string) *stubtest.Identity {
	id, ok := n.ids[org]
	if !ok {
		id = stubtest.MustIdentity(org, "client@"+org)
		n.ids[org] = id
	}
	return id
}

// invoke runs c through the contracts and, for a submit the chaincode
// accepted, commits it.
func (n *Network) invoke(id *stubtest.Identity, c Call) ([]byte, error) {
	stub := n.state.NewTx(c.TxID, n.clock(), id.Creator(), c.Name, c.Args...).WithTransient(c.Transient)
	resp := n.cc.Invoke(stub)
	if resp.GetStatus() != shim.OK {
		return nil, refusal(c, resp.GetMessage())
	}
	if !c.Submit {
		return resp.GetPayload(), nil
	}
	err := stub.Commit()
	n.noteCommit()
	if err != nil {
		return nil, commitFailure(c.TxID, err)
	}
	return resp.GetPayload(), nil
}

// refusal is the chaincode's refusal of c as a Fabric client receives it:
// a gRPC status with the endorsing peer's message in its details, and, for
// a submit, the transaction id of the EndorseError.
func refusal(c Call, msg string) error {
	st := status.New(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, "+msg)
	if c.Submit {
		st = status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info")
	}
	if d, err := st.WithDetails(&gateway.ErrorDetail{Address: "peer0." + c.Org + ":7051", MspId: c.Org,
		Message: "chaincode response 500, " + msg}); err == nil {
		st = d
	}
	err := ledger.MapError(c.Name, st.Err())
	var le *ledger.Error
	if c.Submit && errors.As(err, &le) {
		le.TxID = c.TxID
	}
	return err
}

// commitFailure is a transaction the committer marked invalid, as the
// fabric-gateway client reports it (a *client.CommitError with its
// validation code).
func commitFailure(txID string, err error) error {
	code := peer.TxValidationCode_INVALID_OTHER_REASON
	switch {
	case errors.Is(err, stubtest.ErrMVCCReadConflict):
		code = peer.TxValidationCode_MVCC_READ_CONFLICT
	case errors.Is(err, stubtest.ErrPhantomReadConflict):
		code = peer.TxValidationCode_PHANTOM_READ_CONFLICT
	case errors.Is(err, stubtest.ErrDuplicateTxID):
		code = peer.TxValidationCode_DUPLICATE_TXID
	}
	return &commitError{CommitError: &client.CommitError{TransactionID: txID, Code: code}, cause: err}
}

// commitError gives a *client.CommitError, whose message only the
// fabric-gateway client can set, the committer's reason as its text.
type commitError struct {
	*client.CommitError
	cause error
}

func (e *commitError) Error() string {
	return fmt.Sprintf("transaction %s failed to commit with status code %d (%s): %v",
		e.TransactionID, int32(e.Code), e.Code, e.cause)
}

func (e *commitError) Unwrap() error { return e.CommitError }
