package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/ledger"
)

// Error is an API error decided by the gateway itself: an HTTP status, a
// stable code and a message safe to show.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Gateway error codes (the chaincode's codes pass through unchanged).
const (
	CodeMalformedJSON        = "MALFORMED_JSON"
	CodeInvalidArgument      = "INVALID_ARGUMENT"
	CodeInvalidIDNumber      = "INVALID_ID_NUMBER"
	CodeBodyTooLarge         = "BODY_TOO_LARGE"
	CodeUnsupportedMedia     = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeRateLimited          = "RATE_LIMITED"
	CodeInvalidClient        = "INVALID_CLIENT"
	CodeUnsupportedGrant     = "UNSUPPORTED_GRANT_TYPE"
	CodeIdempotencyReused    = "IDEMPOTENCY_KEY_REUSED"
	CodeIdempotencyInFlight  = "IDEMPOTENCY_KEY_IN_FLIGHT"
	CodeInvalidIdempotency   = "INVALID_IDEMPOTENCY_KEY"
	CodePseudonymUnavailable = "PSEUDONYM_UNAVAILABLE"
	CodeInternal             = "INTERNAL"
)

// ledgerStatus is the HTTP status of every ledger error code. The rule:
//
//   - 400 the request itself is malformed;
//   - 403 the caller's organisation may not do this;
//   - 404 the resource named in the path does not exist (or is not the
//     caller's: another institution's authorisation is "not found");
//   - 409 the resource's current state does not allow the operation (an
//     authorisation that is pending, paused, ended; a stale seq; a
//     concurrent transaction; an id that exists);
//   - 422 the request is well-formed but refers to something unknown
//     (category, purpose) or breaks a rule (purpose ceilings, signatures);
//   - 503 the ledger cannot be reached or is not bootstrapped.
var ledgerStatus = map[model.Code]int{
	model.CodeInvalidArgument:      http.StatusBadRequest,
	model.CodeMalformedJSON:        http.StatusBadRequest,
	model.CodeInputTooLarge:        http.StatusRequestEntityTooLarge,
	model.CodeForbiddenMSP:         http.StatusForbidden,
	model.CodeInstitutionInactive:  http.StatusForbidden,
	model.CodeRequesterMismatch:    http.StatusForbidden,
	model.CodeCategoryOutOfScope:   http.StatusForbidden,
	model.CodeNotBootstrapped:      http.StatusServiceUnavailable,
	model.CodeAlreadyBootstrapped:  http.StatusConflict,
	model.CodeAlreadyExists:        http.StatusConflict,
	model.CodeInstitutionNotFound:  http.StatusNotFound,
	model.CodeCitizenNotFound:      http.StatusNotFound,
	model.CodeKeyNotFound:          http.StatusNotFound,
	model.CodeAuthNotFound:         http.StatusNotFound,
	model.CodeAnchorNotFound:       http.StatusNotFound,
	model.CodeBatchNotFound:        http.StatusNotFound,
	model.CodeAccessNotFound:       http.StatusNotFound,
	model.CodeCategoryNotFound:     http.StatusUnprocessableEntity,
	model.CodePurposeNotFound:      http.StatusUnprocessableEntity,
	model.CodePurposeLimitExceeded: http.StatusUnprocessableEntity,
	model.CodeInvalidKey:           http.StatusUnprocessableEntity,
	model.CodePayloadInvalid:       http.StatusUnprocessableEntity,
	model.CodeSignatureInvalid:     http.StatusUnprocessableEntity,
	model.CodeProofInvalid:         http.StatusUnprocessableEntity,
	model.CodeKeyRevoked:           http.StatusConflict,
	model.CodeAuthNotPending:       http.StatusConflict,
	model.CodeAuthNotGranted:       http.StatusConflict,
	model.CodeAuthDenied:           http.StatusConflict,
	model.CodeAuthPaused:           http.StatusConflict,
	model.CodeAuthRevoked:          http.StatusConflict,
	model.CodeAuthWithdrawn:        http.StatusConflict,
	model.CodeAuthExpired:          http.StatusConflict,
	model.CodeAuthExhausted:        http.StatusConflict,
	model.CodeAuthNotYetValid:      http.StatusConflict,
	model.CodeInvalidTransition:    http.StatusConflict,
	model.CodePayloadMismatch:      http.StatusConflict,
	model.CodeRecordRevoked:        http.StatusConflict,
	// Citizen identity: a proof or assertion the chaincode refuses.
	model.CodeProofRequired:    http.StatusUnprocessableEntity,
	model.CodeIDTokenInvalid:   http.StatusUnprocessableEntity,
	model.CodeApprovalInvalid:  http.StatusUnprocessableEntity,
	model.CodeAssertionInvalid: http.StatusUnprocessableEntity,
	model.CodeSubjectMismatch:  http.StatusForbidden,
	model.CodeUserVerification: http.StatusForbidden,
	model.CodePolicyNotSet:     http.StatusServiceUnavailable,
	ledger.CodeTxConflict:      http.StatusConflict,
	ledger.CodeUnavailable:     http.StatusServiceUnavailable,
	ledger.CodeTxInvalid:       http.StatusInternalServerError,
	model.CodeInternal:         http.StatusInternalServerError,
	// The network is misconfigured (a requester without its collection)
	// or this gateway's clock is off: nothing the client can fix.
	model.CodeCollectionNotFound: http.StatusServiceUnavailable,
	model.CodeClockSkew:          http.StatusServiceUnavailable,
}

// exchangeStatus is the HTTP status of the data exchange's own codes; its
// other codes are the chaincode's (ledgerStatus).
var exchangeStatus = map[string]int{
	exchange.CodeEncryptionKeyMissing:   http.StatusConflict,
	exchange.CodeAccessIDReused:         http.StatusConflict,
	exchange.CodeDataNotReady:           http.StatusServiceUnavailable,
	exchange.CodeCitizenRefUnknown:      http.StatusUnprocessableEntity,
	exchange.CodeAvailabilityNotOffered: http.StatusUnprocessableEntity,
	exchange.CodePredicateOutOfRange:    http.StatusUnprocessableEntity,
	exchange.CodeDeliveryUnverified:     http.StatusBadGateway,
	exchange.CodeProviderUnavailable:    http.StatusServiceUnavailable,
	exchange.CodeProviderError:          http.StatusBadGateway,

	// The provider's signature on a delivery does not hold.
	exchange.CodeDeliverySignatureInvalid: http.StatusBadGateway,
}

// statusOfExchange is the status of an exchange error: the provider's own
// for a refusal passed on, else by its code.
func statusOfExchange(e *exchange.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	if st, ok := exchangeStatus[e.Code]; ok {
		return st
	}
	if st, ok := ledgerStatus[model.Code(e.Code)]; ok {
		return st
	}
	return http.StatusBadRequest
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	TxID      string `json:"tx_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// classify turns any error into the status and body to send; internal
// reports whether it is the gateway's fault (and so must be logged).
func classify(err error) (status int, d errorDetail, internal bool) {
	var ae *Error
	var xe *exchange.Error
	var le *ledger.Error
	var authErr *auth.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.Status, errorDetail{Code: ae.Code, Message: ae.Message}, ae.Status >= 500
	case errors.As(err, &xe):
		st := statusOfExchange(xe)
		return st, errorDetail{Code: xe.Code, Message: xe.Message}, st >= 500 && xe.Code != exchange.CodeProviderUnavailable &&
			xe.Code != exchange.CodeDataNotReady && xe.Code != exchange.CodeDeliveryUnverified && xe.Code != exchange.CodeProviderError &&
			xe.Code != exchange.CodeDeliverySignatureInvalid
	case errors.As(err, &authErr):
		// Never the library's text: it would tell an attacker which check failed.
		return http.StatusUnauthorized, errorDetail{Code: authErr.Code, Message: "a valid bearer token is required"}, false
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorDetail{Code: CodeBodyTooLarge,
			Message: fmt.Sprintf("the request body is over %d bytes", mbe.Limit)}, false
	case errors.As(err, &le):
		status, ok := ledgerStatus[le.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		d := errorDetail{Code: string(le.Code), Message: le.Message, TxID: le.TxID}
		switch {
		case le.Code == ledger.CodeUnavailable:
			d.Message = "the ledger is unavailable; retry later"
		case status >= 500:
			d.Code, d.Message = CodeInternal, "internal error"
		}
		return status, d, status >= 500 && le.Code != ledger.CodeUnavailable
	}
	return http.StatusInternalServerError, errorDetail{Code: CodeInternal, Message: "internal error"}, true
}

// renderError is the one error renderer: it picks the status from the
// error's type and writes {"error":{code,message,tx_id,request_id}}.
// Errors that are the gateway's fault are logged with the request id;
// their text never reaches the client.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, d, internal := classify(err)
	d.RequestID = requestIDFrom(r.Context())
	if internal {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", d.RequestID),
			slog.String("code", d.Code), slog.String("error", err.Error()))
	}
	switch status {
	case http.StatusUnauthorized:
		if d.Code == auth.CodeInvalidToken {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer`)
		}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	writeJSON(w, status, errorBody{Error: d})
}
