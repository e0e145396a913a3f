// Package present is the citizen-present flow: an institution's app sends
// the applicant to the operator's consent app on one authorisation request,
// and the consent app sends them back when they have decided.
//
// # The ticket
//
// The requester's gateway asks the operator's gateway, over the mutual-TLS
// provider link, for a ticket naming the authorisation, the requester, the
// return URL and the institution's state. The operator checks that the
// authorisation is the caller's and pending, and signs the ticket with
// HMAC-SHA-256 under a key only it holds (Signer): it is the only party that
// ever checks a ticket, when the consent app resolves it. The requester's
// gateway vouches for the return URL (it is registered with the API client
// that asked for the link, store.ValidRedirectURI), and the mutual-TLS
// certificate tells the operator which requester vouches. A ticket lives
// TTL; it is a bearer value for the link, but it reveals and decides
// nothing: the citizen still logs in and decides on the consent screen.
//
// Form: "p1." ‖ base64url(JSON claims) ‖ "." ‖ base64url(HMAC-SHA-256(key,
// "p1." ‖ base64url(JSON claims))), without padding.
//
// # Errors
//
// Open returns ErrInvalidTicket for anything malformed or wrongly signed,
// and ErrExpiredTicket for a well-signed ticket past its expiry, so the app
// can say "ask for a new link" rather than "this link is wrong".
package present

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"
)

// TTL is how long a ticket, and so a consent link, stays valid.
const TTL = 10 * time.Minute

// MaxStateLength is the longest state an institution may pass.
const MaxStateLength = 256

// MaxTicketLength bounds the ticket a resolver reads.
const MaxTicketLength = 2048

// KeyPurpose names the ticket key among the operator's derived keys.
const KeyPurpose = "consent-link tickets"

// Errors of Open.
var (
	ErrInvalidTicket = errors.New("present: invalid ticket")
	ErrExpiredTicket = errors.New("present: expired ticket")
)

// Outcomes the consent app returns to the institution's app.
const (
	OutcomeGranted   = "GRANTED"
	OutcomeDenied    = "DENIED"
	OutcomeCancelled = "CANCELLED"
)

// Ticket is what a consent link vouches for.
type Ticket struct {
	AuthorizationID string    `json:"aid"`
	Requester       string    `json:"req"` // the requester's MSP ID
	ReturnURL       string    `json:"ret"`
	State           string    `json:"st"`
	ExpiresAt       time.Time `json:"-"`
}

type claims struct {
	Ticket
	Exp int64 `json:"exp"`
}

const prefix = "p1."

// Signer mints and opens tickets under one key.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a Signer keyed with a copy of key (at least 32 bytes);
// now is its clock, nil meaning time.Now.
func NewSigner(key []byte, now func() time.Time) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("present: the ticket key must be at least 32 bytes, got %d", len(key))
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: append([]byte(nil), key...), now: now}, nil
}

// ValidState reports whether s may be an institution's state: 1 to
// MaxStateLength printable ASCII characters.
func ValidState(s string) bool {
	if s == "" || len(s) > MaxStateLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Mint returns the ticket for t, valid TTL from now, and its expiry.
func (s *Signer) Mint(t Ticket) (string, time.Time, error) {
	if t.AuthorizationID == "" || t.Requester == "" || t.ReturnURL == "" || !ValidState(t.State) {
		return "", time.Time{}, errors.New("present: a ticket needs an authorisation, a requester, a return URL and a state")
	}
	exp := s.now().Add(TTL).Truncate(time.Second).UTC()
	body, err := json.Marshal(claims{Ticket: t, Exp: exp.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	signed := prefix + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), exp, nil
}

// Open checks ticket's signature and expiry and returns what it vouches
// for.
func (s *Signer) Open(ticket string) (Ticket, error) {
	if len(ticket) > MaxTicketLength || !strings.HasPrefix(ticket, prefix) {
		return Ticket{}, ErrInvalidTicket
	}
	dot := strings.LastIndexByte(ticket, '.')
	if dot <= len(prefix) {
		return Ticket{}, ErrInvalidTicket
	}
	signed, sigPart := ticket[:dot], ticket[dot+1:]
	sig, err := base64.RawURLEncoding.DecodeString(sigPart)
	if err != nil || !hmac.Equal(sig, s.mac(signed)) {
		return Ticket{}, ErrInvalidTicket
	}
	body, err := base64.RawURLEncoding.DecodeString(signed[len(prefix):])
	if err != nil {
		return Ticket{}, ErrInvalidTicket
	}
	var c claims
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.AuthorizationID == "" || c.Requester == "" || c.ReturnURL == "" || !ValidState(c.State) {
		return Ticket{}, ErrInvalidTicket
	}
	c.ExpiresAt = time.Unix(c.Exp, 0).UTC()
	if !s.now().Before(c.ExpiresAt) {
		return Ticket{}, ErrExpiredTicket
	}
	return c.Ticket, nil
}

func (s *Signer) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Link returns the consent link: the operator's consent app at appURL
// (such as https://quanchain.example/app/) opened on the present screen of
// authorisation id with ticket.
func Link(appURL, id, ticket string) string {
	base := strings.TrimRight(strings.SplitN(appURL, "#", 2)[0], "/") + "/"
	return base + "#/present/" + url.PathEscape(id) + "?" + url.Values{"r": {ticket}}.Encode()
}

// ReturnLink returns where the consent app sends the citizen back: the
// return URL with state, authorization_id and outcome added to its query
// (the consent app builds the same URL in JavaScript).
func ReturnLink(returnURL, state, id, outcome string) (string, error) {
	u, err := url.Parse(returnURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("authorization_id", id)
	q.Set("outcome", outcome)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// QRSize is the side in pixels of a consent link's QR code.
const QRSize = 384

// QRPNG returns link as a QR code in a QRSize×QRSize PNG, for a counter's
// screen; medium error correction.
func QRPNG(link string) ([]byte, error) {
	if !utf8.ValidString(link) {
		return nil, errors.New("present: the link is not UTF-8")
	}
	png, err := qrcode.Encode(link, qrcode.Medium, QRSize)
	if err != nil {
		return nil, fmt.Errorf("present: QR code: %w", err)
	}
	return png, nil
}
