package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/reference"
)

// testReferenceKeyBytes is the reference key of the test gateways.
var testReferenceKeyBytes = bytes.Repeat([]byte{5}, reference.KeySize)

var testReferenceKey = func() *reference.Key {
	k, err := reference.New(testReferenceKeyBytes)
	if err != nil {
		panic(err)
	}
	return k
}()

// TestReferenceHashIsKeyed: the ledger keeps HMAC-SHA-256 of the
// reference under the institution's key, which the institution recomputes
// and a dictionary of references does not find.
func TestReferenceHashIsKeyed(t *testing.T) {
	h := newHarness(t)
	w := h.do("POST", "/v1/authorizations", validBody(func(m map[string]any) { m["reference"] = "LOAN-2026-0042" }))
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	a := decodeBody[model.Authorization](t, w)
	stored, err := h.net.Ledger("BankMSP").GetAuthorization(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, testReferenceKeyBytes)
	mac.Write([]byte("LOAN-2026-0042"))
	if want := hex.EncodeToString(mac.Sum(nil)); stored.ReferenceHash != want {
		t.Fatalf("reference_hash %s, want HMAC-SHA-256(key, reference) %s", stored.ReferenceHash, want)
	}
	// A dictionary of the references an institution would use.
	for n := range 10000 {
		guess := fmt.Sprintf("LOAN-2026-%04d", n)
		if sum := sha256.Sum256([]byte(guess)); hex.EncodeToString(sum[:]) == stored.ReferenceHash {
			t.Fatalf("the dictionary recovered the reference %s from the ledger", guess)
		}
	}
}

// TestReferenceWithIDNumberRefused: a reference that is or contains an ID
// number is refused with 422 and a stable code, and nothing is submitted.
func TestReferenceWithIDNumberRefused(t *testing.T) {
	h := newHarness(t)
	before := len(h.net.Calls())
	for _, ref := range []string{
		applicant,
		strings.ToLower("11010519491231002X"),
		"LOAN for " + applicant,
		"贷款申请人" + applicant,
		"370102199003071234",
	} {
		w := h.do("POST", "/v1/authorizations", validBody(func(m map[string]any) { m["reference"] = ref }))
		if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != CodeReferenceIDNumber {
			t.Fatalf("reference %q: %d %s", ref, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), ref) || strings.Contains(w.Body.String(), applicant) {
			t.Fatalf("the refusal repeats the reference: %s", w.Body)
		}
	}
	for _, c := range h.net.Calls()[before:] {
		if c.Submit {
			t.Fatalf("a refused request was submitted: %+v", c)
		}
	}
}
