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
	"strings"

	"github.com/quanchain/quanchain/chaincode/model"
)

// ErrPseudonymUnavailable reports that no citizenRef could be obtained from
// the operator's gateway.
var ErrPseudonymUnavailable = errors.New("pseudonym service unavailable")

// PseudonymRequest is the body of a pseudonym lookup.
type PseudonymRequest struct {
	IDNumber string `json:"id_number"`
}

// PseudonymResponse is the operator's answer to a pseudonym lookup.
type PseudonymResponse struct {
	CitizenRef string `json:"citizen_ref"`
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

// Ref implements Pseudonymiser.
func (p *RemotePseudonymiser) Ref(ctx context.Context, idNumber string) (string, error) {
	if p.Client == nil || p.BaseURL == "" {
		return "", fmt.Errorf("%w: no operator gateway is configured", ErrPseudonymUnavailable)
	}
	body, err := json.Marshal(PseudonymRequest{IDNumber: idNumber})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.BaseURL, "/")+PseudonymsPath, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPseudonymUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: operator gateway unreachable", ErrPseudonymUnavailable)
	}
	defer resp.Body.Close()
	var out PseudonymResponse
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: operator gateway answered %s", ErrPseudonymUnavailable, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&out); err != nil || !model.ValidHash(out.CitizenRef) {
		return "", fmt.Errorf("%w: malformed answer from the operator gateway", ErrPseudonymUnavailable)
	}
	return out.CitizenRef, nil
}
