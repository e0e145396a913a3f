package operator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

// MTLSConfig returns the TLS configuration of a client of the operator's
// mutual-TLS listener: it presents cert (the organisation's Fabric TLS
// client identity) and accepts only a server whose certificate chains to
// serverCA (the operator's TLS CA) for server authentication. The server is
// identified by its CA, not by host name, so the host-name check is
// replaced by the explicit chain verification in VerifyConnection.
func MTLSConfig(cert tls.Certificate, serverCA *x509.Certificate) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(serverCA)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// Verification is not skipped: VerifyConnection checks the chain.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the operator's gateway presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return fmt.Errorf("the server is not the operator's gateway (its certificate does not chain to the operator's TLS CA): %w", err)
			}
			return nil
		},
	}
}

// LoadMTLSConfig reads the client key pair and the operator's TLS CA (PEM
// files) and returns [MTLSConfig].
func LoadMTLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS client identity: %w", err)
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("operator TLS CA: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("operator TLS CA %s: no PEM certificate", caFile)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("operator TLS CA %s: %w", caFile, err)
	}
	return MTLSConfig(cert, ca), nil
}

// Pseudonyms is a client of the operator's pseudonym service.
type Pseudonyms struct {
	URL  string // the mutual-TLS listener, e.g. https://127.0.0.1:7090
	HTTP *http.Client
}

// NewPseudonyms returns a client of the service at url over tlsConf.
func NewPseudonyms(url string, tlsConf *tls.Config) *Pseudonyms {
	return &Pseudonyms{
		URL: strings.TrimRight(url, "/"),
		HTTP: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true},
		},
	}
}

var refPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Ref asks the operator, as the auditor, for the citizenRef that requester
// knows the citizen with this ID number by, for the audit case caseID; the
// operator records the lookup where the citizen sees it. Neither the ID
// number nor the ref appears in any error.
func (p *Pseudonyms) Ref(ctx context.Context, idNumber, requester, caseID string) (string, error) {
	body, err := json.Marshal(map[string]string{"id_number": idNumber, "purpose": "AUDIT",
		"for_requester": requester, "case_id": caseID})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/internal/v1/pseudonyms", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("--operator %q: %w", p.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.HTTP.Do(req)
	if err != nil {
		// The URL error repeats the URL only; the body is not in it.
		return "", fmt.Errorf("%w at %s: %w\n(is the network up? `make up` starts the operator's gateway; --operator sets its mutual-TLS address)",
			ErrUnreachable, p.URL, unwrapURL(err))
	}
	defer resp.Body.Close()
	var out struct {
		CitizenRef string `json:"citizen_ref"`
	}
	if err := decodeAnswer(resp, &out); err != nil {
		return "", fmt.Errorf("turning the ID number into a citizenRef: %w", err)
	}
	if !refPattern.MatchString(out.CitizenRef) {
		return "", errors.New("turning the ID number into a citizenRef: the operator's answer holds no valid citizenRef")
	}
	return out.CitizenRef, nil
}

// unwrapURL drops the *url.Error wrapper (method and URL) to keep messages
// short; the URL is named by the caller.
func unwrapURL(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
