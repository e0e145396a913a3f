// Package exchange is the data exchange between member gateways, without
// HTTP: the provider's side (Provider: check the authorisation on the
// ledger, build the delivery from the digital safe, record the access,
// seal the delivery to the requester's key) and the requester's side
// (Requester: ask the provider, then verify the delivery against its own
// peer before handing it on).
//
// A data request reads straight through:
//
//	Requester.Fetch → ProviderClient.Deliver ─(mutual TLS)→ Provider.Deliver
//	                                                        ├ ledger: authorisation, institution
//	                                                        ├ safe: records (vault builds the delivery)
//	                                                        ├ ledger: RecordAccess (the one write)
//	                                                        └ envelope.Seal to the requester's key
//	Requester.verify ← envelope.Open, digest, access on its own peer, proofs, revocation
//
// # Errors
//
// Refusals and failures are *Error values with a stable code (the
// chaincode's model codes pass through as they are); the HTTP layer picks
// the status from the code. Ledger failures are the ledger package's
// *ledger.Error, returned as they are.
package exchange

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
)

// Error codes of the exchange (besides the chaincode's).
const (
	CodeInvalidArgument      = string(model.CodeInvalidArgument)
	CodeEncryptionKeyMissing = "ENCRYPTION_KEY_MISSING"
	CodeAccessIDReused       = "ACCESS_ID_REUSED"
	CodeDataNotReady         = "DATA_NOT_READY"
	CodePredicateOutOfRange  = "PREDICATE_OUT_OF_RANGE"
	CodeDeliveryUnverified   = "DELIVERY_UNVERIFIED"
	CodeProviderUnavailable  = "PROVIDER_UNAVAILABLE"
	CodeProviderError        = "PROVIDER_ERROR"
)

// Error is a refusal or failure of the exchange: a stable code and a
// message safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Status is, for a provider's refusal passed on to the institution,
	// the HTTP status the provider answered with; 0 otherwise (the code
	// decides).
	Status int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// refuse returns an *Error.
func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// refuseModel turns the chaincode's rule's error (a *model.Error) into an
// *Error with the same code.
func refuseModel(err error) error {
	var me *model.Error
	if errors.As(err, &me) {
		return refuse(string(me.Code), "%s", me.Message)
	}
	return err
}

// MaxCategories bounds the categories of one request.
const MaxCategories = 16

// DeliveryRequest is what a requester gateway asks the provider for: the
// data of an authorisation, under an access id it chose (a retry with the
// same id is answered from the first delivery).
type DeliveryRequest struct {
	AccessID        string          `json:"access_id"`
	AuthorizationID string          `json:"authorization_id"`
	Categories      []string        `json:"categories"`
	Mode            string          `json:"mode"`
	Predicate       *PredicateQuery `json:"predicate,omitempty"`
}

// PredicateQuery is a yes/no question about a citizen's records (最少必要).
type PredicateQuery struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params"`
}

// DeliveryResponse is the provider's answer: the access transaction, the
// digest of the delivery (as recorded on the ledger) and the delivery,
// encrypted to the requester's registered key with the access id as
// additional data. The sealed bytes are the digest's 32-byte salt followed
// by the delivered body; the digest is their SHA-256.
type DeliveryResponse struct {
	AccessID    string             `json:"access_id"`
	TxID        string             `json:"tx_id"`
	Digest      string             `json:"digest"`
	Mode        string             `json:"mode"`
	RecordCount int                `json:"record_count"`
	Payload     *envelope.Envelope `json:"payload"`
	// ProviderSignature is the provider's signature on the delivery
	// (DeliveryClaims, signature.go).
	ProviderSignature string `json:"provider_signature,omitempty"`
}

// Terms are a request's terms, checked: its categories sorted and its
// predicate, if any, parsed.
type Terms struct {
	Categories []string
	predicate  *predicate
}

// Validate checks a delivery request's form and returns its terms.
func (q *DeliveryRequest) Validate() (Terms, error) {
	if !model.ValidID(q.AccessID) {
		return Terms{}, refuse(CodeInvalidArgument, "access_id must be 3–64 letters, digits, '_', '.' or '-'")
	}
	return CheckTerms(q.AuthorizationID, q.Categories, q.Mode, q.Predicate)
}

// CheckTerms checks what a data request and a delivery request have in
// common: the authorisation id, 1–MaxCategories distinct category codes,
// and a mode, records or predicate (with a predicate answered from its one
// category).
func CheckTerms(authID string, cats []string, mode string, pq *PredicateQuery) (Terms, error) {
	bad := func(format string, args ...any) (Terms, error) {
		return Terms{}, refuse(CodeInvalidArgument, format, args...)
	}
	if !model.ValidID(authID) {
		return bad("authorization_id is not a valid id")
	}
	if len(cats) == 0 || len(cats) > MaxCategories {
		return bad("categories must list 1–%d category codes", MaxCategories)
	}
	for i, c := range cats {
		if !model.ValidCategoryCode(c) {
			return bad("categories[%d] is not a category code", i)
		}
		if slices.Contains(cats[:i], c) {
			return bad("categories[%d] repeats %q", i, c)
		}
	}
	sorted := slices.Sorted(slices.Values(cats))
	switch mode {
	case model.ModeRecords:
		if pq != nil {
			return bad("predicate is only allowed with mode predicate")
		}
		return Terms{Categories: sorted}, nil
	case model.ModePredicate:
		if pq == nil {
			return bad("mode predicate needs a predicate")
		}
		p, err := parsePredicate(pq)
		if err != nil {
			return Terms{}, err
		}
		if len(sorted) != 1 || sorted[0] != p.category {
			return bad("predicate %s answers from category %s alone", p.code, p.category)
		}
		return Terms{Categories: sorted, predicate: p}, nil
	}
	return bad("mode must be records or predicate")
}

// Within refuses terms the authorisation cannot serve whatever its state:
// categories it does not cover, a predicate its data range cannot answer.
func (t Terms) Within(a *model.Authorization) error {
	if !a.Covers(t.Categories) {
		return refuse(string(model.CodeCategoryOutOfScope), "authorisation %s does not cover every requested category", a.ID)
	}
	if t.predicate != nil {
		return t.predicate.within(a)
	}
	return nil
}
