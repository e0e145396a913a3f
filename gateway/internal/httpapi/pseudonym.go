package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/resident"
)

// Pseudonymiser turns a citizen's ID number into their citizenRef, the
// only name the ledger knows them by.
//
// Only the operator (the provider gateway) holds the pseudonym key. A
// requester gateway (bank, insurer) knows the applicant's ID number from
// the loan application or claim, so it asks the operator's gateway for the
// citizenRef (RemotePseudonymiser, POST /internal/v1/pseudonyms over mutual
// TLS) and never learns the key; the operator's gateway, and a test or
// development gateway that plays both roles, computes it in process
// (HMACPseudonymiser).
type Pseudonymiser interface {
	Ref(ctx context.Context, idNumber string) (string, error)
}

// ErrPseudonymUnavailable reports that no citizenRef could be obtained; the
// request is answered 503 PSEUDONYM_UNAVAILABLE.
var ErrPseudonymUnavailable = peerlink.ErrPseudonymUnavailable

// HMACPseudonymiser computes citizenRefs in process, with the operator's
// key: it is the digital safe's own vault.Pseudonymiser, so the API and the
// safe can never disagree on a citizen's ref.
type HMACPseudonymiser struct{ p *vault.Pseudonymiser }

// MinPseudonymKeyLength is the shortest pseudonym key accepted (256 bits).
const MinPseudonymKeyLength = vault.MinPseudonymKeyLength

// NewHMACPseudonymiser returns a pseudonymiser with key.
func NewHMACPseudonymiser(key []byte) (*HMACPseudonymiser, error) {
	p, err := vault.NewPseudonymiser(key)
	if err != nil {
		return nil, err
	}
	return OperatorPseudonymiser(p), nil
}

// OperatorPseudonymiser serves citizenRefs from the safe's pseudonymiser.
func OperatorPseudonymiser(p *vault.Pseudonymiser) *HMACPseudonymiser {
	return &HMACPseudonymiser{p: p}
}

// Ref implements Pseudonymiser.
func (h *HMACPseudonymiser) Ref(_ context.Context, idNumber string) (string, error) {
	return h.p.Ref(idNumber)
}

// pseudonymsPattern is the operator's pseudonym route, served on the
// mutual-TLS listener only (PeerHandler).
const pseudonymsPattern = peerlink.PseudonymsPath

type pseudonymRequest peerlink.PseudonymRequest

// Validate checks the ID number (GB 11643).
func (q *pseudonymRequest) Validate() error {
	q.IDNumber = NormaliseIDNumber(q.IDNumber)
	if !ValidIDNumber(q.IDNumber) {
		return apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "id_number is not a valid resident identity number")
	}
	return nil
}

type pseudonymResponse = peerlink.PseudonymResponse

// pseudonymRef answers a member gateway's request for a citizenRef. The
// caller is the organisation of its verified client certificate; neither
// the ID number nor the ref is logged.
func (s *Server) pseudonymRef(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := s.peerCaller(r); err != nil {
		return err
	}
	var q pseudonymRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(); err != nil {
		return err
	}
	if s.Pseudonyms == nil {
		return apiErr(http.StatusServiceUnavailable, CodePseudonymUnavailable, "this gateway does not hold the pseudonym key")
	}
	ref, err := s.Pseudonyms.Ref(r.Context(), q.IDNumber)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pseudonymResponse{CitizenRef: ref})
	return nil
}

// NormaliseIDNumber trims an ID number and upper-cases its check character,
// as the operator's pseudonymiser does before hashing it.
func NormaliseIDNumber(s string) string { return strings.ToUpper(resident.Normalise(s)) }

// ValidIDNumber reports whether s is an 18-character resident identity
// number (GB 11643-1999): region, a real birth date not in the future and
// the ISO 7064 MOD 11-2 check character. s must already be normalised.
func ValidIDNumber(s string) bool {
	return s == NormaliseIDNumber(s) && resident.Valid(s, time.Now()) == nil
}
