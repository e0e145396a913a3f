// Package notify tells an institution's systems what happened on the
// ledger to the authorisations it requested: the Pump reads the chaincode
// events, keeps those of this gateway's organisation, hands them to the
// in-process Broker (the server-sent event streams of GET /v1/events) and
// to the webhook outbox in the store; the Sender delivers the outbox to the
// webhooks, signed, retried with backoff, never lost over a restart.
//
// # Delivery
//
// Delivery is at least once. The Pump advances its stored cursor only after
// an event's outbox rows are committed, and a replayed event is enqueued no
// second time (the outbox is unique per webhook and event id). The Sender
// marks an item delivered only after a 2xx answer; an item whose sender died
// is claimed again when its lease ends. A receiver may therefore see an
// event twice and must deduplicate by its Quanchain-Event-Id.
//
// Each delivery is a POST of the event as JSON (a model.Event: name, tx_id,
// time, authorization_id, requester, status, …; never personal data) with
// the headers
//
//	Content-Type:        application/json
//	Quanchain-Event-Id:  <block>:<txid>
//	Quanchain-Timestamp: <unix seconds>
//	Quanchain-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// The secret is the one shown once when the webhook was created; each
// attempt is signed afresh, so a late delivery carries a current timestamp.
// An answer other than 2xx (redirects included: they are not followed) or
// no answer within the timeout is retried with exponential backoff and
// jitter (SenderConfig's BaseDelay doubling up to MaxDelay, ten minutes by
// default); after MaxAttempts the item is parked and no longer tried.
//
// # Order
//
// A webhook receives its events one at a time, in the order the Pump
// enqueued them (the ledger's order): the next event is sent only once the
// previous one was answered 2xx. A failed event therefore holds its
// webhook's later events back while it is retried, and a parked one holds
// them back until an administrator retries it (the gateway's admin API,
// POST /admin/v1/webhooks/{id}/retry or …/deliveries/{id}/retry; qc admin
// webhooks retry). Nothing is sent past a parked event and nothing is
// dropped: however long a receiver was down, after the retry it receives
// every event, in order. A retry makes the item due at once with its
// attempts counted from zero, in its original place. Other webhooks are
// not held back. Together with at-least-once delivery this means a
// receiver may see an event again (a lost 2xx answer), but never an event
// before one that precedes it.
//
// # Verifying a delivery
//
// A receiver checks every delivery before acting on it:
//
//  1. Read the raw request body, before any JSON parsing: the signature is
//     over the exact bytes.
//  2. Split Quanchain-Signature at commas into key=value pairs; take t and
//     every v1 (there may be several while a secret is being rotated).
//  3. Compute HMAC-SHA256 with the webhook secret (its bytes as shown) over
//     t, a full stop and the body: "<t>.<body>"; hex-encode it in lower case.
//  4. Compare it with each v1 in constant time; one must match.
//  5. Refuse t more than five minutes away from the receiver's clock, so a
//     captured delivery cannot be replayed later.
//  6. Deduplicate by Quanchain-Event-Id; answer 2xx quickly, process later.
//
// [Verify] does steps 2–5 in Go. In a shell, with the body in body.json:
//
//	printf '%s.' "$t" | cat - body.json | openssl dgst -sha256 -hmac "$secret" -hex
package notify

import (
	"strconv"
	"strings"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Event is one chaincode event as this gateway forwards it.
type Event struct {
	// ID is "<block>:<txid>": the webhook's Quanchain-Event-Id and the
	// server-sent event's id.
	ID string
	// Name is the chaincode event's name (AuthorizationGranted, …).
	Name  string
	Block uint64
	// Data is the model.Event as JSON: the webhook's body and the
	// server-sent event's data.
	Data []byte
	// Key is whose event it is on a Broker that serves many subscribers'
	// streams (a citizen's citizenRef); "" on an organisation's own.
	Key string
}

// EventID is the id of the event of transaction txID in block block.
func EventID(block uint64, txID string) string {
	return strconv.FormatUint(block, 10) + ":" + txID
}

// Forwarded are the chaincode events forwarded to the requester they name:
// every change of an authorisation and every delivery under one.
var Forwarded = []string{
	model.EventAuthorizationRequested, model.EventAuthorizationGranted, model.EventAuthorizationDenied,
	model.EventAuthorizationPaused, model.EventAuthorizationResumed, model.EventAuthorizationRevoked,
	model.EventAuthorizationWithdrawn, model.EventAccessRecorded,
}

// IsForwarded reports whether events named name are forwarded.
func IsForwarded(name string) bool {
	for _, n := range Forwarded {
		if n == name {
			return true
		}
	}
	return false
}

// forOrg reports whether e is an authorisation or access event whose
// requester is org.
func forOrg(e *model.Event, org string) bool {
	return e != nil && org != "" && e.Requester == org && IsForwarded(e.Name)
}

// safeToken reports whether s may travel in an HTTP header or an SSE field
// line: non-empty, printable ASCII without white space.
func safeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}
