package model

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error code. Codes reach clients through
// the chaincode's error text ("CODE: message"); they never change meaning.
type Code string

// Stable error codes returned by the chaincode.
const (
	CodeInvalidArgument      Code = "INVALID_ARGUMENT"
	CodeMalformedJSON        Code = "MALFORMED_JSON"
	CodeInputTooLarge        Code = "INPUT_TOO_LARGE"
	CodeForbiddenMSP         Code = "FORBIDDEN_MSP"
	CodeNotBootstrapped      Code = "NOT_BOOTSTRAPPED"
	CodeAlreadyBootstrapped  Code = "ALREADY_BOOTSTRAPPED"
	CodeAlreadyExists        Code = "ALREADY_EXISTS"
	CodeInstitutionNotFound  Code = "INSTITUTION_NOT_FOUND"
	CodeInstitutionInactive  Code = "INSTITUTION_INACTIVE"
	CodeCategoryNotFound     Code = "CATEGORY_NOT_FOUND"
	CodePurposeNotFound      Code = "PURPOSE_NOT_FOUND"
	CodePurposeLimitExceeded Code = "PURPOSE_LIMIT_EXCEEDED"
	CodeCitizenNotFound      Code = "CITIZEN_NOT_FOUND"
	CodeKeyNotFound          Code = "KEY_NOT_FOUND"
	CodeKeyRevoked           Code = "KEY_REVOKED"
	CodeInvalidKey           Code = "INVALID_KEY"
	CodeAuthNotFound         Code = "AUTH_NOT_FOUND"
	CodeAuthNotPending       Code = "AUTH_NOT_PENDING"
	CodeAuthNotGranted       Code = "AUTH_NOT_GRANTED"
	CodeAuthDenied           Code = "AUTH_DENIED"
	CodeAuthPaused           Code = "AUTH_PAUSED"
	CodeAuthRevoked          Code = "AUTH_REVOKED"
	CodeAuthWithdrawn        Code = "AUTH_WITHDRAWN"
	CodeAuthExpired          Code = "AUTH_EXPIRED"
	CodeAuthExhausted        Code = "AUTH_EXHAUSTED"
	CodeAuthNotYetValid      Code = "AUTH_NOT_YET_VALID"
	CodeInvalidTransition    Code = "INVALID_TRANSITION"
	CodePayloadInvalid       Code = "PAYLOAD_INVALID"
	CodePayloadMismatch      Code = "PAYLOAD_MISMATCH"
	CodeSignatureInvalid     Code = "SIGNATURE_INVALID"
	CodeCategoryOutOfScope   Code = "CATEGORY_OUT_OF_SCOPE"
	CodeRequesterMismatch    Code = "REQUESTER_MISMATCH"
	CodeAnchorNotFound       Code = "ANCHOR_NOT_FOUND"
	CodeBatchNotFound        Code = "BATCH_NOT_FOUND"
	CodeRecordRevoked        Code = "RECORD_REVOKED"
	CodeProofInvalid         Code = "PROOF_INVALID"
	CodeAccessNotFound       Code = "ACCESS_NOT_FOUND"
	CodeCollectionNotFound   Code = "COLLECTION_NOT_FOUND"
	CodeClockSkew            Code = "PROPOSAL_TIME_SKEW"
	// Citizen identity.
	CodePolicyNotSet     Code = "IDENTITY_POLICY_NOT_SET"
	CodeProofRequired    Code = "ENROLMENT_PROOF_REQUIRED"
	CodeIDTokenInvalid   Code = "ID_TOKEN_INVALID"
	CodeApprovalInvalid  Code = "APPROVAL_INVALID"
	CodeSubjectMismatch  Code = "SUBJECT_MISMATCH"
	CodeUserVerification Code = "USER_VERIFICATION_REQUIRED"
	CodeAssertionInvalid Code = "ASSERTION_INVALID"
	CodeInternal         Code = "INTERNAL"
)

// Error is the chaincode's error type. Its text is "CODE: message", which is
// what a client sees in the endorsement error; ParseError recovers it.
type Error struct {
	Code    Code
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, model.Errf(model.CodeAuthRevoked, "")) style checks and
// errors.Is(err, &model.Error{Code: c}) work.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// Errf builds an *Error with a formatted message.
func Errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "" if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ParseError finds a chaincode error in free text such as a Fabric endorsement
// error message ("... chaincode response 500, PAYLOAD_INVALID: ..."). It
// returns the first "CODE: message" whose CODE is a known code.
func ParseError(text string) (*Error, bool) {
	for i := 0; i < len(text); i++ {
		if i > 0 && isCodeChar(text[i-1]) {
			continue
		}
		j := i
		for j < len(text) && isCodeChar(text[j]) {
			j++
		}
		if j == i || !strings.HasPrefix(text[j:], ": ") {
			continue
		}
		code := Code(text[i:j])
		if !code.Known() {
			continue
		}
		return &Error{Code: code, Message: text[j+2:]}, true
	}
	return nil, false
}

func isCodeChar(c byte) bool { return c == '_' || (c >= 'A' && c <= 'Z') }

// Known reports whether c is one of the codes defined in this package.
func (c Code) Known() bool {
	_, ok := knownCodes[c]
	return ok
}

var knownCodes = map[Code]struct{}{}

func init() {
	for _, c := range AllCodes() {
		knownCodes[c] = struct{}{}
	}
}

// AllCodes lists every defined code, in a stable order.
func AllCodes() []Code {
	return []Code{
		CodeInvalidArgument, CodeMalformedJSON, CodeInputTooLarge, CodeForbiddenMSP,
		CodeNotBootstrapped, CodeAlreadyBootstrapped, CodeAlreadyExists,
		CodeInstitutionNotFound, CodeInstitutionInactive, CodeCategoryNotFound,
		CodePurposeNotFound, CodePurposeLimitExceeded, CodeCitizenNotFound,
		CodeKeyNotFound, CodeKeyRevoked, CodeInvalidKey, CodeAuthNotFound,
		CodeAuthNotPending, CodeAuthNotGranted, CodeAuthDenied, CodeAuthPaused,
		CodeAuthRevoked, CodeAuthWithdrawn, CodeAuthExpired, CodeAuthExhausted,
		CodeAuthNotYetValid, CodeInvalidTransition, CodePayloadInvalid,
		CodePayloadMismatch, CodeSignatureInvalid, CodeCategoryOutOfScope,
		CodeRequesterMismatch, CodeAnchorNotFound, CodeBatchNotFound,
		CodeRecordRevoked, CodeProofInvalid, CodeAccessNotFound, CodeCollectionNotFound,
		CodeClockSkew, CodePolicyNotSet, CodeProofRequired, CodeIDTokenInvalid,
		CodeApprovalInvalid, CodeSubjectMismatch, CodeUserVerification, CodeAssertionInvalid,
		CodeInternal,
	}
}
