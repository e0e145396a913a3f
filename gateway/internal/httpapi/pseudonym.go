package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
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
	return h.p.Ref(idNumber)
}

// RemotePseudonymiser asks the operator's gateway for citizenRefs: POST
// {BaseURL}/internal/v1/pseudonyms over mutual TLS with this organisation's
// Fabric TLS identity (Client carries it; see peerlink.ClientTLS).
type RemotePseudonymiser struct {
	BaseURL string
	Client  *http.Client
}

// NewRemotePseudonymiser returns the pseudonym service client of the
// operator's gateway at baseURL, over mutual TLS with tlsConfig (normally
// (*peerlink.Link).ClientConfig(operatorMSP)), which it copies.
func NewRemotePseudonymiser(baseURL string, tlsConfig *tls.Config) (*RemotePseudonymiser, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("httpapi: operator URL %q must be https://host[:port][/path]", baseURL)
	}
	if tlsConfig == nil || len(tlsConfig.Certificates) == 0 {
		return nil, errors.New("httpapi: the pseudonym client needs a TLS configuration with this gateway's certificate")
	}
	return &RemotePseudonymiser{BaseURL: baseURL, Client: peerHTTPClient(tlsConfig)}, nil
}

// Ping checks that the operator's mutual-TLS listener answers, for the
// requester's readiness.
func (p *RemotePseudonymiser) Ping(ctx context.Context) error {
	if p.Client == nil || p.BaseURL == "" {
		return errors.New("no operator gateway is configured")
	}
	return pingPeer(ctx, p.Client, strings.TrimSuffix(p.BaseURL, "/")+"/healthz")
}

// CloseIdleConnections closes the client's idle connections.
func (p *RemotePseudonymiser) CloseIdleConnections() {
	if p.Client != nil {
		p.Client.CloseIdleConnections()
	}
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

// NormaliseIDNumber trims an ID number and upper-cases its check character,
// as the operator's pseudonymiser does before hashing it.
func NormaliseIDNumber(s string) string { return strings.ToUpper(synth.NormaliseIDNumber(s)) }

// ValidIDNumber reports whether s is an 18-character resident identity
// number (GB 11643-1999): region, a real birth date not in the future and
// the ISO 7064 MOD 11-2 check character. s must already be normalised.
func ValidIDNumber(s string) bool {
	return s == NormaliseIDNumber(s) && synth.ValidIDNumber(s, time.Now()) == nil
}
