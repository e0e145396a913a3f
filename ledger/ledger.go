// Package ledger is the typed view of the quanchain chaincode that its
// clients share (the gateway, qc, the network tool): one method per
// transaction, taking and returning the types of chaincode/model, so
// callers never touch transaction names, strings or raw bytes. Every call takes the request's context (EvaluateWithContext,
// fabconn.Submit) and every failure is an *Error carrying the
// chaincode's stable code and the transaction id.
package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/backoff"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// Call is one transaction as the client sends it.
type Call struct {
	Name string   // qualified transaction name, "consent:Decide"
	Args []string // the arguments, which the block keeps
	// Transient holds the private inputs: they reach the endorsing peers
	// and never a block.
	Transient map[string][]byte
	// Endorsers are the organisations whose peers must endorse; empty
	// leaves the choice to the Fabric Gateway. A transaction on a
	// requester's private records is endorsed by the operator and that
	// requester, the members of its collection that endorse.
	Endorsers []string
}

// transactor runs one transaction. The production one is a
// *client.Contract; tests record the calls.
type transactor interface {
	evaluate(ctx context.Context, c Call) ([]byte, error)
	submit(ctx context.Context, c Call) ([]byte, error)
}

// contractTransactor runs transactions on a fabric-gateway contract, with
// the caller's context.
type contractTransactor struct{ c *client.Contract }

func proposalOptions(c Call) []client.ProposalOption {
	opts := []client.ProposalOption{client.WithArguments(c.Args...)}
	if len(c.Transient) > 0 {
		opts = append(opts, client.WithTransient(c.Transient))
	}
	if len(c.Endorsers) > 0 {
		opts = append(opts, client.WithEndorsingOrganizations(c.Endorsers...))
	}
	return opts
}

func (t contractTransactor) evaluate(ctx context.Context, c Call) ([]byte, error) {
	return t.c.EvaluateWithContext(ctx, c.Name, proposalOptions(c)...)
}

// submit hands the transaction to the ordering service again if it does
// not commit in time (fabconn.Submit): an orderer that crashed with it,
// or that has dropped out of the cluster, does not hold it up.
func (t contractTransactor) submit(ctx context.Context, c Call) ([]byte, error) {
	out, _, err := fabconn.SubmitWith(ctx, t.c, c.Name, proposalOptions(c)...)
	return out, err
}

// EventSource is the part of *client.Network the event subscription uses.
type EventSource interface {
	ChaincodeEvents(ctx context.Context, chaincodeName string, options ...client.ChaincodeEventsOption) (<-chan *client.ChaincodeEvent, error)
}

// Ledger is the quanchain chaincode as seen by one organisation's identity.
type Ledger struct {
	tx        transactor
	events    EventSource
	commits   CommitWaiter // nil: WaitForCommit fails
	chaincode string
	msp       string // the organisation the client acts as; "" if unknown

	mu         sync.Mutex
	operator   string            // the operator's MSP, from registry:GetConfig
	requesters map[string]string // authorisation id -> requester MSP (never changes)
}

// New wraps a chaincode's default contract (transaction names are
// qualified, "consent:Decide") and the network it is on, for events.
// events may be nil if Events is never called.
// mspID is the organisation the contract's identity belongs to.
func New(contract *client.Contract, events EventSource, chaincode, mspID string) *Ledger {
	return &Ledger{tx: contractTransactor{contract}, events: events, chaincode: chaincode, msp: mspID}
}

// ListQuery selects a page of a listing. Status filters authorisation
// listings by (effective) status; Since and Until (RFC 3339, inclusive)
// bound listings by time where the transaction supports it; PageSize is
// 1–100 (0 means the chaincode's default, 20); Bookmark continues a
// previous page.
type ListQuery struct {
	Status       model.AuthStatus
	Since, Until string
	PageSize     int32
	Bookmark     string
}

func (q ListQuery) size() string { return strconv.FormatInt(int64(q.PageSize), 10) }

// All follows a listing's bookmarks from q's to the end and returns every
// item. list is one of the Ledger's listings with its other arguments
// bound; q's filters and page size apply to every page.
func All[T any](ctx context.Context, q ListQuery, list func(context.Context, ListQuery) (*model.Page[T], error)) ([]T, error) {
	items := []T{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := list(ctx, q)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Items...)
		// A filtered listing may return an empty page with a bookmark;
		// the same bookmark twice would go round for ever.
		if p.Bookmark == "" || p.Bookmark == q.Bookmark {
			return items, nil
		}
		q.Bookmark = p.Bookmark
	}
}

// evaluate runs a read-only transaction and decodes its JSON result.
func evaluate[T any](ctx context.Context, l *Ledger, name string, args ...string) (*T, error) {
	out, err := l.tx.evaluate(ctx, Call{Name: name, Args: args})
	if err != nil {
		return nil, MapError(name, err)
	}
	return decode[T](name, out)
}

// submit runs a transaction to commit and decodes its JSON result.
func submit[T any](ctx context.Context, l *Ledger, c Call) (*T, error) {
	out, err := l.tx.submit(ctx, c)
	if err != nil {
		return nil, MapError(c.Name, err)
	}
	return decode[T](c.Name, out)
}

// call builds a transaction with arguments only.
func call(name string, args ...string) Call { return Call{Name: name, Args: args} }

// privateCall builds a transaction on requester's private records: its
// private input v goes in the transient data under key, and the operator
// and requester endorse it.
func (l *Ledger) privateCall(ctx context.Context, requester, name, key string, v any, args ...string) (Call, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Call{}, fmt.Errorf("encode %T: %w", v, err)
	}
	return Call{Name: name, Args: args, Transient: map[string][]byte{key: b}, Endorsers: l.endorsersFor(ctx, requester)}, nil
}

// endorsersFor returns the organisations that endorse a transaction on
// requester's private records: the operator and the requester, the
// members of the requester's collection that endorse. If the operator
// cannot be read it returns nil: the Fabric Gateway then plans the
// endorsement from the collections the chaincode touched, and the
// transaction meets whatever stopped the read.
func (l *Ledger) endorsersFor(ctx context.Context, requester string) []string {
	l.mu.Lock()
	op := l.operator
	l.mu.Unlock()
	if op == "" {
		cfg, err := l.GetConfig(ctx)
		if err != nil {
			return nil
		}
		op = cfg.OperatorMSP
		l.mu.Lock()
		l.operator = op
		l.mu.Unlock()
	}
	if requester == "" || requester == op {
		return []string{op}
	}
	return []string{op, requester}
}

// requesterOf returns the requester of an authorisation, which never
// changes: as seen by any earlier read of it, else read now.
func (l *Ledger) requesterOf(ctx context.Context, id string) (string, error) {
	l.mu.Lock()
	r, ok := l.requesters[id]
	l.mu.Unlock()
	if ok {
		return r, nil
	}
	a, err := l.GetAuthorization(ctx, id)
	if err != nil {
		return "", err
	}
	return a.Requester, nil
}

// noteRequester remembers the requester of an authorisation.
func (l *Ledger) noteRequester(id, requester string) {
	if id == "" || requester == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.requesters == nil || len(l.requesters) >= maxRequesterCache {
		l.requesters = make(map[string]string)
	}
	l.requesters[id] = requester
}

// maxRequesterCache bounds the authorisations whose requester a Ledger
// remembers; the cache starts again when full.
const maxRequesterCache = 10000

// How often submitAgainOnConflict endorses a transaction anew after it
// lost a write conflict. Deliveries under one authorisation commit one per
// block (each counts a use), so a burst of them takes a block each; a
// citizen's decision is tried longer still, so that no burst of
// deliveries can hold off a revocation.
const (
	conflictRetries         = 30
	decisionConflictRetries = 60
)

// submitAgainOnConflict is submit for a transaction that is safe to
// endorse again when a concurrent transaction changed what it read
// (TX_CONFLICT, MVCC_READ_CONFLICT): the new endorsement reads the new
// state, and the chaincode decides again. A citizen's decision and a
// delivery of data race on their authorisation; so one of them commits
// and the other gets the chaincode's answer against the state the winner
// left (a delivery after a revocation: AUTH_REVOKED), not a bare conflict.
func submitAgainOnConflict[T any](ctx context.Context, l *Ledger, attempts int, c Call) (*T, error) {
	// A short pause, growing to about a block's time, that differs
	// between racers.
	pause := backoff.Backoff{Base: 20 * time.Millisecond, Max: 120 * time.Millisecond, Jitter: 1}
	for attempt := 1; ; attempt++ {
		v, err := submit[T](ctx, l, c)
		if CodeOf(err) != CodeTxConflict || attempt == attempts || !pause.Wait(ctx) {
			return v, err
		}
	}
}

func decode[T any](name string, out []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(out, v); err != nil {
		return nil, &Error{Code: model.CodeInternal, Message: name + ": the chaincode's answer does not decode",
			Err: fmt.Errorf("decode %s result as %T: %w", name, v, err)}
	}
	return v, nil
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// Ping checks that the peer answers and the chaincode is bootstrapped, by
// evaluating registry:GetConfig.
func (l *Ledger) Ping(ctx context.Context) error {
	_, err := l.GetConfig(ctx)
	return err
}

// GetConfig returns the network-wide configuration (the operator's MSP).
func (l *Ledger) GetConfig(ctx context.Context) (*model.Config, error) {
	return evaluate[model.Config](ctx, l, "registry:GetConfig")
}

// RequestAuthorization asks a citizen for an authorisation
// (consent:RequestAuthorization); the caller's MSP is the requester. The
// request travels as private input; the answer is the authorisation as
// the requester reads it once committed.
func (l *Ledger) RequestAuthorization(ctx context.Context, req model.AuthorizationRequest) (*model.Authorization, error) {
	c, err := l.privateCall(ctx, l.msp, "consent:RequestAuthorization", model.TransientRequest, req)
	if err != nil {
		return nil, err
	}
	if _, err := submit[model.Authorization](ctx, l, c); err != nil {
		return nil, err
	}
	return l.GetAuthorization(ctx, req.ID)
}

// GetAuthorization returns an authorisation with its effective status, to
// its requester, the operator and the auditor.
func (l *Ledger) GetAuthorization(ctx context.Context, id string) (*model.Authorization, error) {
	a, err := evaluate[model.Authorization](ctx, l, "consent:GetAuthorization", id)
	if err == nil {
		l.noteRequester(a.ID, a.Requester)
	}
	return a, err
}

// ListAuthorizationsByRequester returns a page of an institution's
// authorisations in request order.
func (l *Ledger) ListAuthorizationsByRequester(ctx context.Context, mspID string, q ListQuery) (*model.Page[model.Authorization], error) {
	return evaluate[model.Page[model.Authorization]](ctx, l, "consent:ListAuthorizationsByRequester",
		mspID, string(q.Status), q.Since, q.Until, q.size(), q.Bookmark)
}

// ListAuthorizationsByCitizen returns a page of the authorisations a
// citizen, whom requester knows as citizenRef, gave that requester, in
// request order (Since and Until are not used).
func (l *Ledger) ListAuthorizationsByCitizen(ctx context.Context, requester, citizenRef string, q ListQuery) (*model.Page[model.Authorization], error) {
	return evaluate[model.Page[model.Authorization]](ctx, l, "consent:ListAuthorizationsByCitizen",
		requester, citizenRef, string(q.Status), q.size(), q.Bookmark)
}

// Withdraw withdraws the caller's own request or authorisation.
func (l *Ledger) Withdraw(ctx context.Context, id string) (*model.Authorization, error) {
	c := call("consent:Withdraw", id)
	c.Endorsers = l.endorsersFor(ctx, l.msp)
	if _, err := submit[model.Authorization](ctx, l, c); err != nil {
		return nil, err
	}
	return l.GetAuthorization(ctx, id)
}

// Decide submits a citizen's decision signed by a plain WebCrypto key:
// payload is the exact bytes the device signed (sent base64-encoded,
// unchanged), signatureB64 the signature as the device produced it, keyID
// the enrolled device key. It is DecideSigned without an assertion.
func (l *Ledger) Decide(ctx context.Context, id string, payload []byte, signatureB64, keyID string) (*model.Authorization, error) {
	return l.DecideSigned(ctx, id, payload, model.Signature{KeyID: keyID, Signature: signatureB64})
}

// DecideSigned submits a citizen's decision: payload is the exact bytes
// the device signed (sent base64-encoded, unchanged) and s the device's
// signature, with the WebAuthn assertion's authenticator data and client
// data for a passkey (whose challenge is the SHA-256 of payload). The
// decision travels as private input.
func (l *Ledger) DecideSigned(ctx context.Context, id string, payload []byte, s model.Signature) (*model.Authorization, error) {
	requester, err := l.requesterOf(ctx, id)
	if err != nil {
		return nil, err
	}
	in := model.DecisionInput{Payload: base64.StdEncoding.EncodeToString(payload), Signature: s.Signature, KeyID: s.KeyID,
		AuthenticatorData: s.AuthenticatorData, ClientDataJSON: s.ClientDataJSON}
	c, err := l.privateCall(ctx, requester, "consent:Decide", model.TransientDecision, in, id)
	if err != nil {
		return nil, err
	}
	// The signed payload names the authorisation's seq, which only
	// decisions change: after a conflict with a delivery it is still good.
	if _, err := submitAgainOnConflict[model.Authorization](ctx, l, decisionConflictRetries, c); err != nil {
		return nil, err
	}
	return l.GetAuthorization(ctx, id)
}

// AddCitizenKey enrols a device public key (an ES256 JWK) for a citizen in
// one requester's collection (registry:AddCitizenKey): in names the
// requester, the citizenRef that requester knows the citizen by, the key,
// its kind, the device's name (may be empty) and the enrolment proof (an
// ID token or a device approval), and travels as private input. It
// returns the key id (RFC 7638 thumbprint).
func (l *Ledger) AddCitizenKey(ctx context.Context, in model.CitizenKeyInput) (string, error) {
	c, err := l.privateCall(ctx, in.Requester, "registry:AddCitizenKey", model.TransientKey, in)
	if err != nil {
		return "", err
	}
	out, err := l.tx.submit(ctx, c)
	if err != nil {
		return "", MapError(c.Name, err)
	}
	return string(out), nil
}

// RevokeCitizenKey revokes a citizen's device key in one requester's
// collection.
func (l *Ledger) RevokeCitizenKey(ctx context.Context, requester, citizenRef, keyID string) error {
	in := model.CitizenKeyInput{Requester: requester, CitizenRef: citizenRef, KeyID: keyID}
	c, err := l.privateCall(ctx, requester, "registry:RevokeCitizenKey", model.TransientKey, in)
	if err != nil {
		return err
	}
	_, err = l.tx.submit(ctx, c)
	return MapError(c.Name, err)
}

// ListInstitutions returns a page of the registered institutions (only
// PageSize and Bookmark are used).
func (l *Ledger) ListInstitutions(ctx context.Context, q ListQuery) (*model.Page[model.Institution], error) {
	return evaluate[model.Page[model.Institution]](ctx, l, "registry:ListInstitutions", q.size(), q.Bookmark)
}

// Requesters returns the MSP IDs of the registered institutions that may
// request authorisations (banks, insurers), sorted: those with a private
// data collection of their own.
func (l *Ledger) Requesters(ctx context.Context) ([]string, error) {
	insts, err := All(ctx, ListQuery{PageSize: 100}, l.ListInstitutions)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, inst := range insts {
		if inst.Kind.MayRequest() {
			out = append(out, inst.MSPID)
		}
	}
	sort.Strings(out)
	return out, nil
}

// History returns every committed version of one ledger object, newest
// first: objectType is one of the chaincode's key types ("auth",
// "institution", …), id its key ("" for "config").
func (l *Ledger) History(ctx context.Context, objectType, id string) ([]model.HistoryEntry, error) {
	h, err := evaluate[[]model.HistoryEntry](ctx, l, "registry:History", objectType, id)
	if err != nil {
		return nil, err
	}
	return *h, nil
}

// GetCitizen returns a citizen's device keys as enrolled in requester's
// collection.
func (l *Ledger) GetCitizen(ctx context.Context, requester, citizenRef string) (*model.Citizen, error) {
	return evaluate[model.Citizen](ctx, l, "registry:GetCitizen", requester, citizenRef)
}

// GetInstitution returns a member institution by MSP ID.
func (l *Ledger) GetInstitution(ctx context.Context, mspID string) (*model.Institution, error) {
	return evaluate[model.Institution](ctx, l, "registry:GetInstitution", mspID)
}

// GetCategory returns a data category by code.
func (l *Ledger) GetCategory(ctx context.Context, code string) (*model.Category, error) {
	return evaluate[model.Category](ctx, l, "registry:GetCategory", code)
}

// GetPurpose returns a purpose template by code.
func (l *Ledger) GetPurpose(ctx context.Context, code string) (*model.Purpose, error) {
	return evaluate[model.Purpose](ctx, l, "registry:GetPurpose", code)
}

// VerifyRecord checks a record hash against its single anchor.
func (l *Ledger) VerifyRecord(ctx context.Context, recordHash string) (*model.Verification, error) {
	return evaluate[model.Verification](ctx, l, "anchor:VerifyRecord", recordHash)
}

// VerifyProof checks a Merkle inclusion proof against a stored batch.
func (l *Ledger) VerifyProof(ctx context.Context, proof model.ProofRequest) (*model.Verification, error) {
	arg, err := encode(proof)
	if err != nil {
		return nil, err
	}
	return evaluate[model.Verification](ctx, l, "anchor:VerifyProof", arg)
}

// VerifyProofs checks Merkle inclusion proofs against their stored batches
// as VerifyProof checks each, and returns one verification per proof, in
// order: one evaluation for up to model.MaxProofs proofs (a longer list
// takes one per model.MaxProofs), none for an empty list.
func (l *Ledger) VerifyProofs(ctx context.Context, proofs []model.ProofRequest) ([]model.Verification, error) {
	out := make([]model.Verification, 0, len(proofs))
	for chunk := range slices.Chunk(proofs, model.MaxProofs) {
		arg, err := encode(chunk)
		if err != nil {
			return nil, err
		}
		vs, err := evaluate[[]model.Verification](ctx, l, "anchor:VerifyProofs", arg)
		if err != nil {
			return nil, err
		}
		if len(*vs) != len(chunk) {
			return nil, &Error{Code: model.CodeInternal,
				Message: fmt.Sprintf("anchor:VerifyProofs: %d verifications for %d proofs", len(*vs), len(chunk))}
		}
		out = append(out, *vs...)
	}
	return out, nil
}

// GetBatch returns an anchored Merkle batch.
func (l *Ledger) GetBatch(ctx context.Context, batchID string) (*model.BatchAnchor, error) {
	return evaluate[model.BatchAnchor](ctx, l, "anchor:GetBatch", batchID)
}

// AnchorBatch anchors a Merkle batch of the caller's records.
func (l *Ledger) AnchorBatch(ctx context.Context, batch model.BatchAnchorRequest) (*model.BatchAnchor, error) {
	arg, err := encode(batch)
	if err != nil {
		return nil, err
	}
	return submit[model.BatchAnchor](ctx, l, call("anchor:AnchorBatch", arg))
}

// RecordAccess records a delivery under an authorisation; the delivery
// travels as private input. It returns the access as the caller reads it
// once committed.
func (l *Ledger) RecordAccess(ctx context.Context, access model.AccessRequest) (*model.Access, error) {
	requester, err := l.requesterOf(ctx, access.AuthorizationID)
	if err != nil {
		return nil, err
	}
	c, err := l.privateCall(ctx, requester, "access:RecordAccess", model.TransientAccess, access)
	if err != nil {
		return nil, err
	}
	if _, err := submitAgainOnConflict[model.Access](ctx, l, conflictRetries, c); err != nil {
		return nil, err
	}
	return l.GetAccess(ctx, access.ID)
}

// WaitForCommit waits until transaction txID, submitted by anyone, has
// committed on this client's own peer, for as long as ctx allows: the
// peer answers as soon as it commits the block, so a read that must see
// another organisation's write waits for it without polling. A
// transaction that committed invalid is TX_CONFLICT or TX_INVALID, with
// its id; a wait that ctx ends is LEDGER_UNAVAILABLE. A Ledger that cannot
// ask (New without a connection, NewReader) answers INTERNAL.
func (l *Ledger) WaitForCommit(ctx context.Context, txID string) error {
	const op = "commit status"
	if l.commits == nil {
		return &Error{Code: model.CodeInternal, Message: op + ": this ledger client cannot wait for commits"}
	}
	if txID == "" {
		return &Error{Code: model.CodeInvalidArgument, Message: op + ": no transaction id"}
	}
	_, err := l.commits.WaitForCommit(ctx, txID)
	return MapError(op, err)
}

// GetAccess returns one access record.
func (l *Ledger) GetAccess(ctx context.Context, id string) (*model.Access, error) {
	return evaluate[model.Access](ctx, l, "access:GetAccess", id)
}

// ListAccessesByCitizen returns a page of the deliveries to requester of
// the data of a citizen it knows as citizenRef, oldest first (Status is
// not used).
func (l *Ledger) ListAccessesByCitizen(ctx context.Context, requester, citizenRef string, q ListQuery) (*model.Page[model.Access], error) {
	return evaluate[model.Page[model.Access]](ctx, l, "access:ListAccessesByCitizen",
		requester, citizenRef, q.Since, q.Until, q.size(), q.Bookmark)
}

// ListAccessesByRequester returns a page of the deliveries to an
// institution, oldest first (Status is not used).
func (l *Ledger) ListAccessesByRequester(ctx context.Context, mspID string, q ListQuery) (*model.Page[model.Access], error) {
	return evaluate[model.Page[model.Access]](ctx, l, "access:ListAccessesByRequester",
		mspID, q.Since, q.Until, q.size(), q.Bookmark)
}

// ListAccessesByAuthorization returns a page of the deliveries under one
// authorisation, oldest first (only PageSize and Bookmark are used).
func (l *Ledger) ListAccessesByAuthorization(ctx context.Context, authorizationID string, q ListQuery) (*model.Page[model.Access], error) {
	return evaluate[model.Page[model.Access]](ctx, l, "access:ListAccessesByAuthorization",
		authorizationID, q.size(), q.Bookmark)
}
