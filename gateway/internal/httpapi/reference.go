package httpapi

import (
	"errors"
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/reference"
)

// CodeReferenceIDNumber refuses an authorisation request whose reference
// is or contains a resident ID number (422).
const CodeReferenceIDNumber = "REFERENCE_CONTAINS_ID_NUMBER"

// ReferenceKeyer keys an institution's references; *reference.Key
// implements it.
type ReferenceKeyer interface {
	Hash(reference string) string
}

// referenceHash returns the reference hash of ref under this gateway's
// reference key.
func (s *Server) referenceHash(ref string) (string, error) {
	if s.References == nil {
		return "", errors.New("httpapi: no reference key is configured")
	}
	return s.References.Hash(ref), nil
}

// checkReference refuses a reference that is or contains a resident ID
// number, without repeating it.
func checkReference(ref string) error {
	if err := reference.Check(ref); errors.Is(err, reference.ErrIDNumber) {
		return apiErr(http.StatusUnprocessableEntity, CodeReferenceIDNumber,
			"reference must not be or contain a resident ID number: give the loan application or claim number")
	}
	return nil
}
