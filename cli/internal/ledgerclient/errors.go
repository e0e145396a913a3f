package ledgerclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Error is a failed evaluation, with the chaincode's error code when it gave
// one and the answering peers' own messages.
type Error struct {
	Op      string     // what was asked, e.g. "consent:GetAuthorization"
	Code    model.Code // the chaincode's stable error code, "" if none
	Message string     // the chaincode's or the peer's message
	Err     error      // the transport's error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s: %s", e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Op, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// NotFound reports whether the ledger answered that the object, block or
// transaction asked for does not exist.
func (e *Error) NotFound() bool {
	if e.Code != "" {
		return strings.HasSuffix(string(e.Code), "_NOT_FOUND")
	}
	// qscc's answers (Fabric 2.5) for an unknown block number or
	// transaction id: "… error no such block number [N] in index",
	// "… error no such transaction ID [id] in index".
	return strings.Contains(e.Message, "no such block number") || strings.Contains(e.Message, "no such transaction ID")
}

// wrap turns a transport error into an *Error, recovering the chaincode's
// code and the per-peer messages from the Fabric Gateway's error details.
func wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := &Error{Op: op, Err: err, Message: err.Error()}
	var details []string
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		st := se.GRPCStatus()
		e.Message = st.Message()
		for _, d := range st.Details() {
			if ed, ok := d.(*gateway.ErrorDetail); ok {
				details = append(details, fmt.Sprintf("%s (%s): %s", ed.GetMspId(), ed.GetAddress(), ed.GetMessage()))
				if ce, ok := model.ParseError(ed.GetMessage()); ok && e.Code == "" {
					e.Code, e.Message = ce.Code, ce.Message
				}
			}
		}
	}
	if e.Code == "" {
		if ce, ok := model.ParseError(err.Error()); ok {
			e.Code, e.Message = ce.Code, ce.Message
		} else if len(details) > 0 {
			e.Message = strings.Join(details, "; ")
		}
	}
	return e
}
