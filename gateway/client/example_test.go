package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// A bank's lending flow: ask the citizen for an authorisation, wait for
// the decision, fetch the data under an idempotency key and keep what
// proves the delivery.
func Example_lending() {
	gw := newFakeGateway() // the bank's gateway, e.g. https://bank-gateway.example
	defer gw.Close()
	ctx := context.Background()

	bank, err := client.New(gw.URL, client.WithClientSecret("bank-app", "s3cret"))
	if err != nil {
		log.Fatal(err)
	}
	a, err := bank.CreateAuthorization(ctx, client.AuthorizationRequest{
		CitizenID: "370102199001011234", Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"housing_fund"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: "2026-12-01T00:00:00Z", MaxUses: 3, Reference: "LOAN-2026-0042",
	}, "loan-2026-0042-request")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.ID, a.Status)

	// The citizen decides in the consent app; poll (or subscribe to the
	// AuthorizationGranted webhook).
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	a, err = bank.WaitForDecision(waitCtx, a.ID, 10*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	if a.Status != model.AuthGranted {
		log.Fatalf("the citizen did not grant: %s", a.Status)
	}
	fmt.Println(a.ID, a.Status)

	// One key per logical fetch, reused for every retry of it: the access
	// is recorded once.
	d, err := bank.RequestData(ctx, client.DataRequest{AuthorizationID: a.ID, Categories: []string{"housing_fund"}},
		"loan-2026-0042-fetch-1")
	var qe *client.Error
	if errors.As(err, &qe) && qe.Code == "AUTH_REVOKED" {
		log.Fatal("the citizen revoked the authorisation")
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.AccessID, "verified:", d.Verified, "records:", len(d.Records))
	for _, r := range d.Records {
		fmt.Println(r.Category, r.RecordDate, string(r.Record))
	}
	// Keep d.DigestSalt and d.Body: they prove what was delivered.
	fmt.Println("digest matches:", d.Verify("") == nil)
	// Output:
	// auth-1 PENDING
	// auth-1 GRANTED
	// acc-1 verified: true records: 1
	// housing_fund 2026-10-15 {"amount_fen":120000,"category":"housing_fund","month":"2026-10"}
	// digest matches: true
}

// An insurer's claim: ask whether the insured died before a date, without
// receiving the death registration itself.
func Example_claimPredicate() {
	gw := newFakeGateway() // the insurer's gateway
	defer gw.Close()
	gw.grantAfter = 0
	ctx := context.Background()

	insurer, err := client.New(gw.URL, client.WithClientSecret("bank-app", "s3cret"))
	if err != nil {
		log.Fatal(err)
	}
	a, err := insurer.CreateAuthorization(ctx, client.AuthorizationRequest{
		CitizenID: "370102195001011234", Purpose: "CLAIM_SETTLEMENT",
		Categories: []string{"death_registration"}, DataFrom: "2024-01-01", DataTo: "2026-10-31",
		ValidUntil: "2026-12-01T00:00:00Z", MaxUses: 1, Reference: "CLAIM-2026-0007",
	}, "claim-2026-0007-request")
	if err != nil {
		log.Fatal(err)
	}
	if a, err = insurer.WaitForDecision(ctx, a.ID, time.Second); err != nil || a.Status != model.AuthGranted {
		log.Fatal(a.Status, err)
	}
	died, d, err := insurer.RequestPredicate(ctx, a.ID, "death_registration",
		client.Predicate{Code: "DECEASED_BEFORE", Params: map[string]string{"date": "2026-10-01"}},
		"claim-2026-0007-deceased")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deceased before 2026-10-01:", died, "records:", len(d.Records))
	// Output:
	// deceased before 2026-10-01: true records: 0
}

// An API client registered with a public key authenticates with assertions
// signed by its private key: no secret is stored or sent.
func ExampleWithPrivateKeyJWT() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // in practice, loaded from the institution's key store
	if err != nil {
		log.Fatal(err)
	}
	gw := newFakeGateway()
	defer gw.Close()
	gw.key = &key.PublicKey // registered with POST /admin/v1/clients {"jwk": …}

	bank, err := client.New(gw.URL, client.WithPrivateKeyJWT("bank-app", key))
	if err != nil {
		log.Fatal(err)
	}
	_, err = bank.Authorization(context.Background(), "auth-unknown")
	var qe *client.Error
	if errors.As(err, &qe) {
		fmt.Println(qe.Status, qe.Code)
	}
	// Output:
	// 404 AUTH_NOT_FOUND
}

// An institution matches an authorisation on the ledger with its own
// application by recomputing the reference hash with its gateway's
// reference key.
func ExampleReferenceHash() {
	key := make([]byte, 32) // the 32 bytes of the gateway's reference-key file
	for i := range key {
		key[i] = byte(i)
	}
	h, err := client.ReferenceHash(key, "LOAN-2026-0042")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h)
	// Output:
	// cd8bfedf566fdae1b1265fe5ec8a3ef08185ea147f4ca2e09a28d290bde68991
}
