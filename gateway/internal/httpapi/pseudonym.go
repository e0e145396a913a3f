package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/quanchain/quanchain/chaincode/model"
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
var ErrPseudonymUnavailable = errors.New("pseudonym service unavailable")

// HMACPseudonymiser computes citizenRef = hex(HMAC-SHA-256(key, ID number))
// over the normalised (trimmed, upper-case) ID number.
type HMACPseudonymiser struct{ key []byte }

// MinPseudonymKeyLength is the shortest pseudonym key accepted (256 bits).
const MinPseudonymKeyLength = 32

// NewHMACPseudonymiser returns a pseudonymiser with key.
func NewHMACPseudonymiser(key []byte) (*HMACPseudonymiser, error) {
	if len(key) < MinPseudonymKeyLength {
		return nil, fmt.Errorf("pseudonym key must be at least %d bytes", MinPseudonymKeyLength)
	}
	return &HMACPseudonymiser{key: append([]byte(nil), key...)}, nil
}

// LoadPseudonymKey reads the pseudonym key file (raw bytes).
func LoadPseudonymKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pseudonym key: %w", err)
	}
	if len(b) < MinPseudonymKeyLength {
		return nil, fmt.Errorf("pseudonym key %s is shorter than %d bytes", path, MinPseudonymKeyLength)
	}
	return b, nil
}

// Ref implements Pseudonymiser.
func (h *HMACPseudonymiser) Ref(_ context.Context, idNumber string) (string, error) {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(NormaliseIDNumber(idNumber)))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// RemotePseudonymiser asks the operator's gateway for citizenRefs: POST
// {BaseURL}/internal/v1/pseudonyms over mutual TLS with this organisation's
// Fabric TLS identity (Client carries it; see peerlink.ClientTLS).
type RemotePseudonymiser struct {
	BaseURL string
	Client  *http.Client
}

// Ref implements Pseudonymiser.
func (p *RemotePseudonymiser) Ref(ctx context.Context, idNumber string) (string, error) {
	if p.Client == nil || p.BaseURL == "" {
		return "", fmt.Errorf("%w: no operator gateway is configured", ErrPseudonymUnavailable)
	}
	body, err := json.Marshal(pseudonymRequest{IDNumber: idNumber})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.BaseURL, "/")+pseudonymsPattern, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPseudonymUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: operator gateway unreachable", ErrPseudonymUnavailable)
	}
	defer resp.Body.Close()
	var out pseudonymResponse
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: operator gateway answered %s", ErrPseudonymUnavailable, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&out); err != nil || !model.ValidHash(out.CitizenRef) {
		return "", fmt.Errorf("%w: malformed answer from the operator gateway", ErrPseudonymUnavailable)
	}
	return out.CitizenRef, nil
}

// pseudonymsPattern is the operator's pseudonym route, served on the
// mutual-TLS listener only (PeerHandler).
const pseudonymsPattern = "/internal/v1/pseudonyms"

type pseudonymRequest struct {
	IDNumber string `json:"id_number"`
}

// Validate checks the ID number (GB 11643).
func (q *pseudonymRequest) Validate() error {
	q.IDNumber = NormaliseIDNumber(q.IDNumber)
	if !ValidIDNumber(q.IDNumber) {
		return apiErr(http.StatusBadRequest, CodeInvalidIDNumber, "id_number is not a valid resident identity number")
	}
	return nil
}

type pseudonymResponse struct {
	CitizenRef string `json:"citizen_ref"`
}

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

// NormaliseIDNumber trims and upper-cases an ID number (the check
// character may be written x or X).
func NormaliseIDNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidIDNumber reports whether s is an 18-character resident identity
// number (GB 11643-1999) with a correct ISO 7064 MOD 11-2 check character
// and a plausible birth date. s must already be normalised.
func ValidIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * weights[i]
	}
	if s[0] == '0' || !plausibleDate(s[6:14]) {
		return false
	}
	return s[17] == "10X98765432"[sum%11]
}

// plausibleDate checks a YYYYMMDD birth date loosely (1900–2099, month
// 1–12, day 1–31); the ledger never sees it.
func plausibleDate(d string) bool {
	y := (int(d[0]-'0')*10+int(d[1]-'0'))*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	m := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && day >= 1 && day <= 31
}
