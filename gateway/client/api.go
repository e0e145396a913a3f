package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Authorization is an authorisation as the ledger keeps it.
type Authorization = model.Authorization

// AuthorizationRequest asks a citizen for an authorisation (POST
// /v1/authorizations). Reference is the institution's own loan application
// or claim number; only its keyed hash reaches the ledger.
type AuthorizationRequest struct {
	CitizenID  string   `json:"citizen_id"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	DataFrom   string   `json:"data_from"`   // YYYY-MM-DD
	DataTo     string   `json:"data_to"`     // YYYY-MM-DD
	ValidUntil string   `json:"valid_until"` // RFC 3339
	MaxUses    int      `json:"max_uses"`
	Reference  string   `json:"reference"`
}

// CreateAuthorization asks for an authorisation; it is PENDING until the
// citizen decides. idempotencyKey may be empty; with a key, a lost answer is
// safe to ask for again.
func (c *Client) CreateAuthorization(ctx context.Context, req AuthorizationRequest, idempotencyKey string) (*Authorization, error) {
	var a Authorization
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/authorizations", body: req, idemKey: idempotencyKey, out: &a, want: http.StatusCreated})
	return &a, err
}

// Authorization returns one of this institution's authorisations.
func (c *Client) Authorization(ctx context.Context, id string) (*Authorization, error) {
	var a Authorization
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/authorizations/" + url.PathEscape(id), out: &a, want: http.StatusOK})
	return &a, err
}

// AuthorizationPage is a page of authorisations; NextCursor is empty on the last.
type AuthorizationPage struct {
	Items      []Authorization `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// ListAuthorizations returns a page of this institution's authorisations,
// of status if it is not empty.
func (c *Client) ListAuthorizations(ctx context.Context, status model.AuthStatus, cursor string, limit int) (*AuthorizationPage, error) {
	q := url.Values{}
	setNonEmpty(q, "status", string(status))
	setNonEmpty(q, "cursor", cursor)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p AuthorizationPage
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/authorizations", query: q, out: &p, want: http.StatusOK})
	return &p, err
}

// WithdrawAuthorization withdraws this institution's request.
func (c *Client) WithdrawAuthorization(ctx context.Context, id, idempotencyKey string) (*Authorization, error) {
	var a Authorization
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/authorizations/" + url.PathEscape(id) + "/withdraw",
		body: struct{}{}, idemKey: idempotencyKey, out: &a, want: http.StatusOK})
	return &a, err
}

// WaitForDecision polls an authorisation every interval until it is no
// longer PENDING or ctx is done, and returns it as last read.
func (c *Client) WaitForDecision(ctx context.Context, id string, interval time.Duration) (*Authorization, error) {
	for {
		a, err := c.Authorization(ctx, id)
		if err != nil || a.Status != model.AuthPending {
			return a, err
		}
		if err := c.sleep(ctx, interval); err != nil {
			return a, err
		}
	}
}

// Artefact returns the consent artefact of an authorisation: a compact JWS
// proving the citizen's last decision offline (docs/api.md, "Consent artefact"),
// as the gateway answers it (application/jose).
func (c *Client) Artefact(ctx context.Context, authorizationID string) (string, error) {
	var raw []byte
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/authorizations/" + url.PathEscape(authorizationID) + "/artefact", out: &raw, want: http.StatusOK})
	return strings.TrimSpace(string(raw)), err
}

// Predicate is one minimal-answer question (docs/api.md, "Minimal answers").
type Predicate struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params"`
}

// DataRequest asks for data under a granted authorisation: records of
// Categories, or with Predicate set a yes/no answer from its one category.
type DataRequest struct {
	AuthorizationID string     `json:"authorization_id"`
	Categories      []string   `json:"categories"`
	Mode            string     `json:"mode,omitempty"`
	Predicate       *Predicate `json:"predicate,omitempty"`
}

// Proof places a delivered record in an anchored Merkle batch.
type Proof struct {
	BatchID   string   `json:"batch_id"`
	LeafIndex uint64   `json:"leaf_index"`
	LeafCount uint64   `json:"leaf_count"`
	Path      []string `json:"path"`
	Root      string   `json:"root"`
	Salt      string   `json:"salt,omitempty"` // hex; empty for a record stored before salts
	// AnchorTxID is the transaction that anchored the batch.
	AnchorTxID string `json:"anchor_tx_id,omitempty"`
}

// Record is one delivered record; Record holds its bytes unchanged, so their
// SHA-256 is RecordHash.
type Record struct {
	Category   string          `json:"category"`
	RecordDate string          `json:"record_date"`
	RecordHash string          `json:"record_hash"`
	Revoked    bool            `json:"revoked"`
	Proof      Proof           `json:"proof"`
	Record     json.RawMessage `json:"record"`
}

// Delivery is the answer of a data request, verified by the institution's
// gateway against its own peer: records with their proofs, or a predicate's
// answer.
type Delivery struct {
	AccessID        string     `json:"access_id"`
	TxID            string     `json:"tx_id"`
	AuthorizationID string     `json:"authorization_id"`
	Mode            string     `json:"mode"`
	Categories      []string   `json:"categories"`
	DataFrom        string     `json:"data_from"`
	DataTo          string     `json:"data_to"`
	UseNumber       int        `json:"use_number"`
	AccessedAt      string     `json:"accessed_at"`
	Records         []Record   `json:"records,omitempty"`
	Predicate       *Predicate `json:"predicate,omitempty"`
	Answer          *bool      `json:"answer,omitempty"`
	// Digest is what the ledger recorded for the access; DigestSalt (hex)
	// and Body, the delivered body exactly, prove later what was delivered:
	// see VerifyDelivery. Keep them.
	Digest     string `json:"digest"`
	DigestSalt string `json:"digest_salt,omitempty"`
	Body       []byte `json:"delivery"` // base64 in JSON
	// ProviderSignature is the provider's signature on the delivery
	// (docs/api.md, "Signed deliveries").
	ProviderSignature string `json:"provider_signature,omitempty"`
	Verified          bool   `json:"verified"`
}

// RequestData asks for records under an authorisation. idempotencyKey names
// the logical operation: reuse it for every retry of the same request, so
// the access is recorded once; with a key the client retries a 429 or 503
// itself.
func (c *Client) RequestData(ctx context.Context, req DataRequest, idempotencyKey string) (*Delivery, error) {
	if req.Predicate != nil && req.Mode == "" {
		req.Mode = model.ModePredicate
	}
	var d Delivery
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/data-requests", body: req, idemKey: idempotencyKey, out: &d, want: http.StatusOK})
	return &d, err
}

// RequestPredicate asks one predicate of category under an authorisation
// and returns its answer with the delivery.
func (c *Client) RequestPredicate(ctx context.Context, authorizationID, category string, p Predicate, idempotencyKey string) (bool, *Delivery, error) {
	d, err := c.RequestData(ctx, DataRequest{AuthorizationID: authorizationID, Categories: []string{category}, Predicate: &p}, idempotencyKey)
	if err != nil {
		return false, d, err
	}
	return d.Answer != nil && *d.Answer, d, nil
}

// Availability is whether each asked category holds data in the authorised range.
type Availability struct {
	AuthorizationID string `json:"authorization_id"`
	DataFrom        string `json:"data_from"`
	DataTo          string `json:"data_to"`
	Categories      []struct {
		Category  string `json:"category"`
		Available bool   `json:"available"`
	} `json:"categories"`
}

// DataAvailability asks, spending no use, which categories hold data; all
// the authorisation's categories when categories is empty.
func (c *Client) DataAvailability(ctx context.Context, authorizationID string, categories ...string) (*Availability, error) {
	q := url.Values{"authorization_id": {authorizationID}}
	if len(categories) > 0 {
		q.Set("categories", strings.Join(categories, ","))
	}
	var a Availability
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/data-availability", query: q, out: &a, want: http.StatusOK})
	return &a, err
}

// Access is one of this institution's deliveries as its peer holds it.
type Access struct {
	AccessID        string   `json:"access_id"`
	AuthorizationID string   `json:"authorization_id"`
	Categories      []string `json:"categories"`
	Mode            string   `json:"mode"`
	Predicate       string   `json:"predicate,omitempty"`
	Digest          string   `json:"digest"`
	UseNumber       int      `json:"use_number"`
	AccessedAt      string   `json:"accessed_at"`
	TxID            string   `json:"tx_id"`
}

// AccessPage is a page of accesses, oldest first.
type AccessPage struct {
	Items      []Access `json:"items"`
	NextCursor string   `json:"next_cursor"`
}

// AccessQuery selects accesses; zero members are left out.
type AccessQuery struct {
	Since, Until time.Time
	Cursor       string
	Limit        int
}

// Accesses lists this institution's deliveries.
func (c *Client) Accesses(ctx context.Context, q AccessQuery) (*AccessPage, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	setNonEmpty(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var p AccessPage
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/accesses", query: v, out: &p, want: http.StatusOK})
	return &p, err
}

// VerificationRequest checks a record (with its batch proof) or a document's
// SHA-256 against the ledger.
type VerificationRequest struct {
	Category       string          `json:"category,omitempty"`
	Record         json.RawMessage `json:"record,omitempty"`
	Salt           string          `json:"salt,omitempty"`
	BatchID        string          `json:"batch_id,omitempty"`
	LeafIndex      *uint64         `json:"leaf_index,omitempty"`
	Proof          []string        `json:"proof,omitempty"`
	DocumentSHA256 string          `json:"document_sha256,omitempty"`
}

// VerificationOf is the request that checks a delivered record.
func VerificationOf(r Record) VerificationRequest {
	i := r.Proof.LeafIndex
	return VerificationRequest{Category: r.Category, Record: r.Record, Salt: r.Proof.Salt,
		BatchID: r.Proof.BatchID, LeafIndex: &i, Proof: r.Proof.Path}
}

// Verification is the ledger's answer; Raw keeps the whole answer, anchor
// and proof included.
type Verification struct {
	RecordHash string          `json:"record_hash"`
	Category   string          `json:"category,omitempty"`
	Valid      bool            `json:"valid"`
	Anchored   bool            `json:"anchored"`
	Revoked    bool            `json:"revoked"`
	Reason     string          `json:"reason,omitempty"`
	Raw        json.RawMessage `json:"-"`
}

// Verify checks a record or a document against the ledger.
func (c *Client) Verify(ctx context.Context, req VerificationRequest) (*Verification, error) {
	var raw []byte
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/verifications", body: req, out: &raw, want: http.StatusOK}); err != nil {
		return nil, err
	}
	v := Verification{Raw: raw}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Webhook is a registered webhook; Secret is shown only when it is created.
type Webhook struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	ClientID  string   `json:"client_id"`
	CreatedAt string   `json:"created_at"`
	Secret    string   `json:"secret,omitempty"`
}

// CreateWebhook registers url for events (all if empty).
func (c *Client) CreateWebhook(ctx context.Context, hookURL string, events []string, idempotencyKey string) (*Webhook, error) {
	body := map[string]any{"url": hookURL}
	if len(events) > 0 {
		body["events"] = events
	}
	var w Webhook
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/webhooks", body: body, idemKey: idempotencyKey, out: &w, want: http.StatusCreated})
	return &w, err
}

// Webhooks lists this institution's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var p struct {
		Items []Webhook `json:"items"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/webhooks", out: &p, want: http.StatusOK})
	return p.Items, err
}

// DeleteWebhook removes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v1/webhooks/" + url.PathEscape(id), want: http.StatusNoContent})
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
