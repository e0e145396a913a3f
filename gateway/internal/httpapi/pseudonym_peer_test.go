package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"net/http"
	"testing"
)

// TestRemotePseudonyms: a requester gateway gets a citizenRef from the
// operator's gateway over mutual TLS, equal to the one the operator
// computes itself; callers without a member certificate are refused.
func TestRemotePseudonyms(t *testing.T) {
	x := newXnet(t)
	operator, err := NewHMACPseudonymiser(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	x.provider.Pseudonyms = operator
	tlsCfg, err := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	remote := &peerlink.RemotePseudonymiser{BaseURL: x.peer.URL, Client: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}}
	const id = "11010519491231002X"
	want, _ := operator.Ref(context.Background(), id)
	got, err := remote.Ref(context.Background(), "11010519491231002x")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("remote ref %s, operator ref %s", got, want)
	}

	_, err = remote.Ref(context.Background(), "110105194912310021")
	if !errors.Is(err, ErrPseudonymUnavailable) {
		t.Fatalf("invalid ID number: %v", err)
	}
	anonymous := &peerlink.RemotePseudonymiser{BaseURL: x.peer.URL, Client: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // #nosec G402 -- the test's point is the missing client certificate
	if _, err := anonymous.Ref(context.Background(), id); !errors.Is(err, ErrPseudonymUnavailable) {
		t.Fatalf("caller without a client certificate: %v", err)
	}
	if _, err := (&peerlink.RemotePseudonymiser{}).Ref(context.Background(), id); !errors.Is(err, ErrPseudonymUnavailable) {
		t.Fatalf("unconfigured: %v", err)
	}
}
