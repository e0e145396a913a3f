package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Admin is a client of a gateway's admin API, authenticated with an API
// client of the admin scope (OAuth2 client credentials).
type Admin struct {
	URL          string // the gateway's HTTP API, e.g. http://127.0.0.1:7080
	ClientID     string
	ClientSecret string
	HTTP         *http.Client

	token string
}

// NewAdmin returns an admin client of the gateway at base.
func NewAdmin(base, clientID, clientSecret string) *Admin {
	return &Admin{URL: strings.TrimRight(base, "/"), ClientID: clientID, ClientSecret: clientSecret,
		HTTP: &http.Client{Timeout: 5 * time.Minute}}
}

// Token is an access token of the admin API.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Client is a registered API client; the secret is shown once.
type Client struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"` // absent for a client that registered a key
	// TokenEndpointAuthMethod is client_secret_post or private_key_jwt.
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	OrgMSP                  string   `json:"org_msp"`
	Scopes                  []string `json:"scopes"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	CreatedAt               string   `json:"created_at"`
}

// NewClient is an API client to register: its organisation and scopes, its
// public key for a key client (nil for a secret), and the return URLs of
// its consent links.
type NewClient struct {
	Org          string
	Scopes       []string
	JWK          json.RawMessage
	RedirectURIs []string
}

// AnchoredBatch is one Merkle batch anchored on the ledger by an import.
type AnchoredBatch struct {
	BatchID   string `json:"batch_id"`
	Category  string `json:"category"`
	Root      string `json:"root"`
	LeafCount int    `json:"leaf_count"`
	TxID      string `json:"tx_id"`
}

// ImportResult is the outcome of a dataset import.
type ImportResult struct {
	Category   string          `json:"category"`
	Records    int             `json:"records"`
	Inserted   int             `json:"inserted"`
	Duplicates int             `json:"duplicates"`
	Batches    int             `json:"batches"`
	Anchored   []AnchoredBatch `json:"anchored"`
}

// IssueToken gets a token with the client credentials.
func (a *Admin) IssueToken(ctx context.Context) (*Token, error) {
	var tok Token
	err := a.do(ctx, http.MethodPost, "/admin/v1/oauth/token", "application/json", false, map[string]string{
		"grant_type": "client_credentials", "client_id": a.ClientID, "client_secret": a.ClientSecret,
	}, &tok)
	if err != nil {
		return nil, fmt.Errorf("authenticating as API client %q: %w", a.ClientID, err)
	}
	a.token = tok.AccessToken
	return &tok, nil
}

// CreateClient registers an API client of org with scopes.
func (a *Admin) CreateClient(ctx context.Context, org string, scopes []string) (*Client, error) {
	return a.CreateKeyClient(ctx, org, scopes, nil)
}

// CreateKeyClient registers an API client that authenticates with client
// assertions signed by the key whose public JWK is jwk (private_key_jwt);
// with jwk nil it is CreateClient.
func (a *Admin) CreateKeyClient(ctx context.Context, org string, scopes []string, jwk json.RawMessage) (*Client, error) {
	return a.Register(ctx, NewClient{Org: org, Scopes: scopes, JWK: jwk})
}

// Register registers the API client n.
func (a *Admin) Register(ctx context.Context, n NewClient) (*Client, error) {
	var c Client
	body := map[string]any{"org_msp": n.Org, "scopes": n.Scopes}
	if n.JWK != nil {
		body["jwk"] = n.JWK
	}
	if len(n.RedirectURIs) > 0 {
		body["redirect_uris"] = n.RedirectURIs
	}
	if err := a.do(ctx, http.MethodPost, "/admin/v1/clients", "application/json", true, body, &c); err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	return &c, nil
}

// Import imports a dataset of category: JSON Lines, one record a line.
func (a *Admin) Import(ctx context.Context, category string, jsonl io.Reader) (*ImportResult, error) {
	var r ImportResult
	if err := a.do(ctx, http.MethodPost, "/admin/v1/datasets/"+url.PathEscape(category)+"/import",
		"application/x-ndjson", true, jsonl, &r); err != nil {
		return nil, fmt.Errorf("importing the dataset: %w", err)
	}
	if r.Anchored == nil {
		r.Anchored = []AnchoredBatch{}
	}
	return &r, nil
}

// do sends one request; body is an io.Reader sent as is, or a value sent as
// JSON. With auth, a token is obtained first if there is none.
func (a *Admin) do(ctx context.Context, method, path, contentType string, auth bool, body, out any) error {
	if auth && a.token == "" {
		if _, err := a.IssueToken(ctx); err != nil {
			return err
		}
	}
	rd, ok := body.(io.Reader)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, rd)
	if err != nil {
		return fmt.Errorf("--gateway %q: %w", a.URL, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("gateway unreachable at %s: %w\n(is the network up? `make up` starts the gateways; --gateway sets the address)",
			a.URL, unwrapURL(err))
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}
