package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// runID makes the ids of one test run unique on a ledger that outlives it.
var runID = strconv.FormatInt(time.Now().UnixNano(), 36)

// id returns a run-unique identifier.
func id(prefix string) string { return prefix + "-" + runID }

// testCitizen is a citizen as the operator knows them off-ledger. Only
// ref ever reaches the ledger.
type testCitizen struct {
	IDNumber, Name, Phone string
	ref                   string
}

// pseudonymKey stands in for the operator's secret citizenRef key.
var pseudonymKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

func newCitizen(idNumber, name, phone string) testCitizen {
	m := hmac.New(sha256.New, pseudonymKey)
	m.Write([]byte(idNumber))
	ref := hex.EncodeToString(m.Sum(nil))
	if residentID.MatchString(idNumber) {
		// Test citizens named otherwise ("cli-citizen-…") get a stand-in
		// number from idNumberOf.
		idNumbers.Store(ref, idNumber)
	}
	return testCitizen{IDNumber: idNumber, Name: name, Phone: phone, ref: ref}
}

// device is a citizen's phone with an ES256 key.
type device struct {
	key *ecdsa.PrivateKey
	jwk string
	kid string
}

func newDevice(t testing.TB) *device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw, b64 := pub.Bytes(), base64.RawURLEncoding.EncodeToString
	return &device{key: k, jwk: fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, b64(raw[1:33]), b64(raw[33:]))}
}

// sign signs msg as WebCrypto does (raw r‖s) and returns it base64.
func (d *device) sign(t testing.TB, msg []byte) string {
	t.Helper()
	sum := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, d.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return base64.StdEncoding.EncodeToString(out)
}

// ledger is one organisation's view of the chaincode.
type ledger struct {
	t        testing.TB
	org      string
	contract *client.Contract
}

func as(t testing.TB, org string) *ledger {
	t.Helper()
	c, err := testNet.Contract(org)
	if err != nil {
		t.Fatalf("contract for %s: %v", org, err)
	}
	return &ledger{t: t, org: org, contract: c}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// submit submits as l's organisation. The commit it waits for is its own
// peer's; the block number is kept, so that reads on other organisations'
// peers wait until they have it too (evaluate).
//
// The tests give a transaction its arguments as they read; submit sends
// what a client sends (see ledger.Ledger): the private inputs of
// RequestAuthorization, Decide, RecordAccess and the key transactions as
// transient data, endorsed by the operator and the requester, and it
// answers what the caller then reads (the whole record), not the public
// record the transaction returns.
//
//	consent:RequestAuthorization  requestJSON
//	consent:Decide                id payload signature keyID
//	access:RecordAccess           accessJSON
//	registry:AddCitizenKey        citizenRef jwk          (every requester's collection, with an ID-token proof)
//	registry:RevokeCitizenKey     citizenRef keyID        (every requester's collection)
func (l *ledger) submit(fn string, args ...string) ([]byte, error) {
	if (fn == "registry:AddCitizenKey" || fn == "registry:RevokeCitizenKey") && len(args) == 2 {
		var out []byte
		for _, req := range []string{"BankMSP", "InsurerMSP"} {
			in := model.CitizenKeyInput{Requester: req, CitizenRef: args[0]}
			if fn == "registry:AddCitizenKey" {
				in.JWK, in.Kind, in.Proof = args[1], model.KeyWebCrypto, idTokenProof(l.t, args[0], args[1])
			} else {
				in.KeyID = args[1]
			}
			var err error
			if out, err = l.submitWith(fn, req, nil, model.TransientKey, in); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	switch {
	case fn == "consent:RequestAuthorization" && len(args) == 1:
		var req model.AuthorizationRequest
		_ = json.Unmarshal([]byte(args[0]), &req)
		if _, err := l.submitWith(fn, l.org, nil, model.TransientRequest, json.RawMessage(args[0])); err != nil {
			return nil, err
		}
		return l.evaluate("consent:GetAuthorization", req.ID)
	case fn == "consent:Decide" && len(args) == 4:
		in := model.DecisionInput{Payload: args[1], Signature: args[2], KeyID: args[3]}
		if _, err := l.submitWith(fn, requesterOf(l.t, args[0]), args[:1], model.TransientDecision, in); err != nil {
			return nil, err
		}
		return l.evaluate("consent:GetAuthorization", args[0])
	case fn == "access:RecordAccess" && len(args) == 1:
		var req model.AccessRequest
		_ = json.Unmarshal([]byte(args[0]), &req)
		if _, err := l.submitWith(fn, requesterOf(l.t, req.AuthorizationID), nil, model.TransientAccess, json.RawMessage(args[0])); err != nil {
			return nil, err
		}
		return l.evaluate("access:GetAccess", req.ID)
	}
	return l.submitWith(fn, "", args, "", nil)
}

// submitWith submits fn with args and, if key is not empty, v as the
// private input key, endorsed by the operator and requester (if not
// empty).
func (l *ledger) submitWith(fn, requester string, args []string, key string, v any) ([]byte, error) {
	return l.submitWithContext(ctxFor(l.t), fn, requester, args, key, v)
}

// submitWithContext is submitWith under ctx.
func (l *ledger) submitWithContext(ctx context.Context, fn, requester string, args []string, key string, v any) ([]byte, error) {
	opts := []client.ProposalOption{client.WithArguments(args...)}
	if key != "" {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTransient(map[string][]byte{key: b}))
	}
	if requester != "" && requester != "BureauMSP" {
		opts = append(opts, client.WithEndorsingOrganizations("BureauMSP", requester))
	}
	out, block, err := fabconn.SubmitWith(ctx, l.contract, fn, opts...)
	if block > 0 || err == nil {
		noteCommitted(block)
	}
	return out, err
}

// requesterOf returns the requester of an authorisation, as the operator
// reads it; "" if there is none.
func requesterOf(t testing.TB, authID string) string {
	c, err := testNet.Contract("BureauMSP")
	if err != nil {
		t.Fatalf("contract for BureauMSP: %v", err)
	}
	ctx := ctxFor(t)
	awaitCommitted(ctx, t, "BureauMSP")
	out, err := c.EvaluateWithContext(ctx, "consent:GetAuthorization", client.WithArguments(authID))
	if err != nil {
		return ""
	}
	var a model.Authorization
	_ = json.Unmarshal(out, &a)
	return a.Requester
}

// lastBlock is the highest block that holds a transaction these tests
// submitted (committed valid or not).
var lastBlock atomic.Uint64

func noteCommitted(block uint64) {
	for {
		have := lastBlock.Load()
		if block <= have || lastBlock.CompareAndSwap(have, block) {
			return
		}
	}
}

// awaitCommitted waits until org's peer holds every block that holds a
// transaction these tests submitted: a write committed on one
// organisation's peer reaches the others a little later.
func awaitCommitted(ctx context.Context, t testing.TB, org string) {
	t.Helper()
	want := lastBlock.Load() + 1
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := testNet.Height(ctx, org)
		if err == nil && h >= want {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("the peer of %s is at height %d (%v), want %d", org, h, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *ledger) mustSubmit(fn string, args ...string) []byte {
	l.t.Helper()
	out, err := l.submit(fn, args...)
	if err != nil {
		l.t.Fatalf("%s as %s: %v", fn, l.org, describe(err))
	}
	return out
}

func (l *ledger) evaluate(fn string, args ...string) ([]byte, error) {
	ctx := ctxFor(l.t)
	awaitCommitted(ctx, l.t, l.org)
	return l.contract.EvaluateWithContext(ctx, fn, client.WithArguments(args...))
}

func (l *ledger) mustEvaluate(fn string, args ...string) []byte {
	l.t.Helper()
	out, err := l.evaluate(fn, args...)
	if err != nil {
		l.t.Fatalf("%s as %s: %v", fn, l.org, describe(err))
	}
	return out
}

// chaincodeCode finds the chaincode's error code in a Fabric Gateway error:
// in its message or in the per-peer error details.
func chaincodeCode(err error) model.Code {
	if err == nil {
		return ""
	}
	if e, ok := model.ParseError(err.Error()); ok {
		return e.Code
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		for _, d := range se.GRPCStatus().Details() {
			if ed, ok := d.(*gateway.ErrorDetail); ok {
				if e, ok := model.ParseError(ed.GetMessage()); ok {
					return e.Code
				}
			}
		}
	}
	return ""
}

// describe renders an error with its per-peer details.
func describe(err error) string {
	msg := err.Error()
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		for _, d := range se.GRPCStatus().Details() {
			if ed, ok := d.(*gateway.ErrorDetail); ok {
				msg += fmt.Sprintf("\n  %s (%s): %s", ed.GetAddress(), ed.GetMspId(), ed.GetMessage())
			}
		}
	}
	return msg
}

func wantCode(t *testing.T, err error, want model.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", want)
	}
	if got := chaincodeCode(err); got != want {
		t.Fatalf("want %s, got %q: %v", want, got, describe(err))
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, b, err)
	}
	return v
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
