package peerlink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// PresentTicketsPath is the operator's consent-link ticket service.
const PresentTicketsPath = "/internal/v1/present-tickets"

// ErrPresentUnavailable reports that the operator's gateway could not be
// asked for a consent-link ticket.
var ErrPresentUnavailable = errors.New("consent-link tickets unavailable")

// PresentTicketRequest asks the operator for a consent-link ticket: the
// requester's pending authorisation, the return URL its gateway vouches for
// (one registered with the API client asking) and the institution's state.
// The operator learns the requester from the client certificate.
type PresentTicketRequest struct {
	AuthorizationID string `json:"authorization_id"`
	ReturnURL       string `json:"return_url"`
	State           string `json:"state"`
}

// PresentTicketResponse is the operator's ticket and its expiry.
type PresentTicketResponse struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PresentTickets asks the operator's gateway for consent-link tickets:
// POST {BaseURL}/internal/v1/present-tickets over mutual TLS.
type PresentTickets struct {
	BaseURL string
	Client  *http.Client
}

// NewPresentTickets returns the ticket client of the operator's gateway at
// baseURL, over mutual TLS with tlsConfig, which it copies.
func NewPresentTickets(baseURL string, tlsConfig *tls.Config) (*PresentTickets, error) {
	base, err := peerBase("consent-link ticket", baseURL, tlsConfig)
	if err != nil {
		return nil, err
	}
	return &PresentTickets{BaseURL: base, Client: peerHTTPClient(tlsConfig)}, nil
}

// PresentTicket asks for a ticket for q. The operator's refusals are
// *PseudonymRefusal values (the operator's error body, status and code);
// ErrPresentUnavailable wraps the failures to reach it.
func (p *PresentTickets) PresentTicket(ctx context.Context, q PresentTicketRequest) (PresentTicketResponse, error) {
	if p == nil || p.Client == nil || p.BaseURL == "" {
		return PresentTicketResponse{}, fmt.Errorf("%w: no operator gateway is configured", ErrPresentUnavailable)
	}
	var out PresentTicketResponse
	if err := postToOperator(ctx, p.Client, strings.TrimSuffix(p.BaseURL, "/")+PresentTicketsPath, q, &out, ErrPresentUnavailable); err != nil {
		return PresentTicketResponse{}, err
	}
	if out.Ticket == "" || out.ExpiresAt.IsZero() {
		return PresentTicketResponse{}, fmt.Errorf("%w: malformed answer from the operator gateway", ErrPresentUnavailable)
	}
	return out, nil
}
