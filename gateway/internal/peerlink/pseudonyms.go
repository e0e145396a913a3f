package peerlink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// ErrPseudonymUnavailable reports that no citizenRef could be obtained from
// the operator's gateway.
var ErrPseudonymUnavailable = errors.New("pseudonym service unavailable")

// PseudonymRequest is the body of a pseudonym lookup: the citizen's ID
// number and what the requester needs their ref for — the purpose code and
// the id of the authorisation it is about to request. The operator records
// both with the lookup, and the citizen sees them.
type PseudonymRequest struct {
	IDNumber        string `json:"id_number"`
	Purpose         string `json:"purpose"`
	AuthorizationID string `json:"authorization_id,omitempty"`
	// An auditor's lookup (purpose AUDIT) names the requester whose ref
	// it needs and the audit case it is for, instead of an authorisation.
	ForRequester string `json:"for_requester,omitempty"`
	CaseID       string `json:"case_id,omitempty"`
}

// PurposeAudit is the purpose of an auditor's lookup.
const PurposeAudit = "AUDIT"

// PseudonymResponse is the operator's answer to a pseudonym lookup: the
// pairwise citizenRef, the one only the calling organisation receives for
// this citizen.
type PseudonymResponse struct {
	CitizenRef string `json:"citizen_ref"`
}

// PseudonymRefusal is the operator's refusal of a lookup, with its HTTP
// status and stable code (the error body of the operator's API). It
// matches ErrPseudonymUnavailable (errors.Is) when the refusal is
// temporary: a 5xx or 429 status.
type PseudonymRefusal struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // from a 429 or 503's Retry-After; 0 if none
}

func (e *PseudonymRefusal) Error() string {
	return fmt.Sprintf("operator gateway refused the request: %d %s", e.Status, e.Code)
}

// Is makes a temporary refusal match ErrPseudonymUnavailable.
func (e *PseudonymRefusal) Is(target error) bool {
	return target == ErrPseudonymUnavailable && (e.Status >= 500 || e.Status == http.StatusTooManyRequests)
}

// RemotePseudonymiser asks the operator's gateway for pairwise citizenRefs: POST
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
	base, err := peerBase("pseudonym", baseURL, tlsConfig)
	if err != nil {
		return nil, err
	}
	return &RemotePseudonymiser{BaseURL: base, Client: peerHTTPClient(tlsConfig)}, nil
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

// PairwiseRef asks the operator's gateway for the citizenRef this
// organisation knows the citizen of q.IDNumber by, for q's purpose and
// authorisation. The operator answers only a registered, active requester
// presenting its gateway's client certificate; its refusals are
// *PseudonymRefusal values.
func (p *RemotePseudonymiser) PairwiseRef(ctx context.Context, q PseudonymRequest) (string, error) {
	if p.Client == nil || p.BaseURL == "" {
		return "", fmt.Errorf("%w: no operator gateway is configured", ErrPseudonymUnavailable)
	}
	var out PseudonymResponse
	if err := postToOperator(ctx, p.Client, strings.TrimSuffix(p.BaseURL, "/")+PseudonymsPath, q, &out, ErrPseudonymUnavailable); err != nil {
		return "", err
	}
	if !model.ValidHash(out.CitizenRef) {
		return "", fmt.Errorf("%w: malformed answer from the operator gateway", ErrPseudonymUnavailable)
	}
	return out.CitizenRef, nil
}

// postToOperator sends in as JSON to the operator's mutual-TLS listener
// and decodes its answer into out. A failure to reach the operator or a
// malformed answer wraps unavailable; a refusal is a *PseudonymRefusal.
func postToOperator(ctx context.Context, client *http.Client, url string, in, out any, unavailable error) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", unavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: operator gateway unreachable", unavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8192)).Decode(out); err != nil {
		return fmt.Errorf("%w: malformed answer from the operator gateway", unavailable)
	}
	return nil
}

// refusal reads the operator's error answer; a body that is not the
// operator's error shape gives a refusal with an empty code.
func refusal(resp *http.Response) *PseudonymRefusal {
	e := &PseudonymRefusal{Status: resp.StatusCode}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 3600 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
