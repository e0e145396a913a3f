package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Gateway-side codes, for failures that are not the chaincode's answer.
// They share model.Code's type so one error renderer handles all of them.
const (
	// CodeUnavailable: the peer or orderer could not be reached, or did not
	// answer in time. Retrying later may succeed.
	CodeUnavailable model.Code = "LEDGER_UNAVAILABLE"
	// CodeTxConflict: the transaction was endorsed but not committed because
	// a concurrent transaction changed what it read (MVCC or phantom read
	// conflict). Retrying the whole request may succeed.
	CodeTxConflict model.Code = "TX_CONFLICT"
	// CodeTxInvalid: the transaction was ordered but the peers marked it
	// invalid for another reason (endorsement policy, bad signature, …).
	CodeTxInvalid model.Code = "TX_INVALID"
	// CodeBlockNotFound and CodeTxNotFound: the peer's query system
	// chaincode holds no block of that number, or no transaction of that
	// id, on the channel.
	CodeBlockNotFound model.Code = "BLOCK_NOT_FOUND"
	CodeTxNotFound    model.Code = "TX_NOT_FOUND"
)

// ErrUnavailable matches (errors.Is) every *Error whose code is
// CodeUnavailable: the ledger could not be reached, as opposed to a
// chaincode refusal.
var ErrUnavailable = errors.New("ledger unavailable")

// Error is a failed ledger call: the chaincode's stable code and message
// when the chaincode refused it, or a gateway-side code; the transaction
// id when one was assigned; and the underlying fabric-gateway error.
type Error struct {
	Code    model.Code
	Message string
	TxID    string
	// Details are the answering peers' own messages, "MSP (address):
	// message", from the Fabric Gateway's error details. They can name
	// hosts and internals: for operators and logs, not for API clients.
	Details []string
	Err     error
}

// Error implements error. The text is "CODE: message", as the chaincode's.
func (e *Error) Error() string {
	if e.TxID != "" {
		return fmt.Sprintf("%s: %s (tx %s)", e.Code, e.Message, e.TxID)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the fabric-gateway error.
func (e *Error) Unwrap() error { return e.Err }

// NotFound reports whether the ledger answered that what was asked for
// does not exist: an object (AUTH_NOT_FOUND, …), a block or a transaction.
func (e *Error) NotFound() bool { return strings.HasSuffix(string(e.Code), "_NOT_FOUND") }

// Is makes errors.Is(err, ErrUnavailable) true for unavailability and
// errors.Is(err, &model.Error{Code: c}) true for chaincode code c.
func (e *Error) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Code == CodeUnavailable
	}
	var me *model.Error
	if errors.As(target, &me) {
		return me.Code == e.Code
	}
	return false
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) model.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// MapError turns an error from a fabric-gateway call into an *Error; op
// names the call ("consent:Decide", "qscc GetBlockByNumber"). The
// chaincode's "CODE: message" is looked for in the error text first and
// then in the per-peer details of the gRPC status; the transaction id
// comes from the fabric-gateway error types. It is the one reading of
// ledger errors: the typed client and the query system chaincode's client
// (package ledger/qscc) use it.
func MapError(op string, err error) error {
	var le *Error
	if err == nil || errors.As(err, &le) {
		return err
	}
	msgs, details := peerMessages(err)
	e := &Error{Err: err, TxID: txID(err), Details: details}
	if me, ok := chaincodeError(msgs); ok {
		e.Code, e.Message = me.Code, me.Message
		return e
	}
	if code, what, ok := qsccNotFound(msgs); ok {
		e.Code, e.Message = code, op+": the peer holds no such "+what
		return e
	}
	if endorsersDisagree(msgs) {
		// The endorsing peers answered from different states: one had
		// committed a concurrent transaction's block, the other not yet.
		// Endorsed again, they agree.
		e.Code, e.Message = CodeTxConflict, op+": the endorsing peers read different states while a concurrent transaction committed; retry"
		return e
	}
	var ce *client.CommitError
	if errors.As(err, &ce) {
		switch ce.Code {
		case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT:
			e.Code, e.Message = CodeTxConflict, op+": a concurrent transaction changed the same data; retry"
		default:
			e.Code, e.Message = CodeTxInvalid, fmt.Sprintf("%s: transaction not committed (%s)", op, ce.Code)
		}
		return e
	}
	if unavailable(err) {
		e.Code, e.Message = CodeUnavailable, op+": the ledger is unavailable"
		return e
	}
	e.Code, e.Message = model.CodeInternal, op+": the ledger call failed"
	return e
}

// endorsersDisagree reports the Fabric Gateway's refusal of endorsements
// whose results differ ("ProposalResponsePayloads do not match").
func endorsersDisagree(msgs []string) bool {
	for _, m := range msgs {
		if strings.Contains(m, "ProposalResponsePayloads do not match") {
			return true
		}
	}
	return false
}

// peerMessages returns the texts a Fabric Gateway error carries: its own
// text, then the message of every gateway.ErrorDetail of its gRPC status;
// and those details as "MSP (address): message".
func peerMessages(err error) (msgs, details []string) {
	msgs = []string{err.Error()}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		for _, d := range se.GRPCStatus().Details() {
			if ed, ok := d.(*gateway.ErrorDetail); ok {
				msgs = append(msgs, ed.GetMessage())
				details = append(details, fmt.Sprintf("%s (%s): %s", ed.GetMspId(), ed.GetAddress(), ed.GetMessage()))
			}
		}
	}
	return msgs, details
}

// chaincodeError finds a chaincode error code in the texts of an error.
func chaincodeError(msgs []string) (*model.Error, bool) {
	for _, m := range msgs {
		if me, ok := model.ParseError(m); ok {
			return me, true
		}
	}
	return nil, false
}

// qsccNotFound recognises the query system chaincode's answer (Fabric
// 2.5) for a block number or transaction id the peer does not hold:
// "… error no such block number [N] in index", "… error no such
// transaction ID [id] in index".
func qsccNotFound(msgs []string) (code model.Code, what string, ok bool) {
	for _, m := range msgs {
		switch {
		case strings.Contains(m, "no such block number"):
			return CodeBlockNotFound, "block", true
		case strings.Contains(m, "no such transaction ID"):
			return CodeTxNotFound, "transaction", true
		}
	}
	return "", "", false
}

// txID returns the transaction id carried by a fabric-gateway error.
func txID(err error) string {
	var ee *client.EndorseError
	var se *client.SubmitError
	var cse *client.CommitStatusError
	var ce *client.CommitError
	switch {
	case errors.As(err, &ee):
		return ee.TransactionID
	case errors.As(err, &se):
		return se.TransactionID
	case errors.As(err, &cse):
		return cse.TransactionID
	case errors.As(err, &ce):
		return ce.TransactionID
	}
	return ""
}

// unavailable reports whether err means the ledger could not be reached or
// did not answer in time (as opposed to answering with a refusal).
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return false
	}
	switch se.GRPCStatus().Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}
