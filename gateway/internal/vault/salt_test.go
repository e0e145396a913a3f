package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
)

// TestPredicateDigestNeedsTheSalt: everything in a predicate answer but
// the answer is known to whoever reads the access on the ledger (access,
// authorisation, requester, predicate; the parameters are easily guessed),
// so the possible bodies are a short dictionary. Without the salt none of
// them gives the recorded digest; with it, exactly the delivered answer
// does.
func TestPredicateDigestNeedsTheSalt(t *testing.T) {
	h := DeliveryHeader{AccessID: "acc-7", AuthorizationID: "auth-claim-7", Requester: "InsurerMSP"}
	salt := NewDigestSalt()
	d, err := BuildPredicateDelivery(h, salt, PredicateDeceasedBefore, map[string]string{"date": "2026-10-01"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var dictionary [][]byte
	for day := 1; day <= 31; day++ {
		for _, answer := range []bool{true, false} {
			params := map[string]string{"date": fmt.Sprintf("2026-10-%02d", day)}
			guess, err := BuildPredicateDelivery(h, make([]byte, DigestSaltSize), PredicateDeceasedBefore, params, answer)
			if err != nil {
				t.Fatal(err)
			}
			dictionary = append(dictionary, guess.Body)
		}
	}
	found, foundWithSalt := 0, 0
	for _, body := range dictionary {
		if sha256.Sum256(body) == d.Digest {
			found++
		}
		if DeliveryDigest(salt, body) == d.Digest {
			foundWithSalt++
			if !bytes.Contains(body, []byte(`"date":"2026-10-01"},"answer":false`)) {
				t.Errorf("the salt confirms another body: %s", body)
			}
		}
	}
	if found != 0 {
		t.Errorf("%d of %d guessed answers give the digest without the salt", found, len(dictionary))
	}
	if foundWithSalt != 1 {
		t.Errorf("%d guessed answers give the digest with the salt, want 1", foundWithSalt)
	}
	other, _ := BuildPredicateDelivery(h, NewDigestSalt(), PredicateDeceasedBefore, map[string]string{"date": "2026-10-01"}, false)
	if other.Digest == d.Digest {
		t.Error("two deliveries of one answer under fresh salts have one digest")
	}
}

// TestDeliveredProofNeedsTheSalt: a delivered record's proof verifies with
// the salt it carries, and not without it.
func TestDeliveredProofNeedsTheSalt(t *testing.T) {
	v, _, _, recs := deliveryFixture(t)
	proofs, err := v.Proofs(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range proofs {
		sum := RecordHash(recs[i].Body)
		if p.Salt == "" || p.Salt != hex.EncodeToString(recs[i].Salt) {
			t.Fatalf("record %d: proof salt %q", i, p.Salt)
		}
		if err := p.Verify(sum); err != nil {
			t.Fatalf("record %d with its salt: %v", i, err)
		}
		if err := merkle.VerifyInclusion(sum[:], p.LeafIndex, p.LeafCount, p.Path, p.Root); err == nil {
			t.Fatalf("record %d confirmed by its hash alone", i)
		}
		p.Salt = ""
		if err := p.Verify(sum); err == nil {
			t.Fatalf("record %d confirmed without its salt", i)
		}
	}
}

// TestBatchIDNeverHoldsAnIDNumber: a root whose first 24 hex digits are
// all decimal still names a valid batch id.
func TestBatchIDNeverHoldsAnIDNumber(t *testing.T) {
	for _, root := range []string{
		"138525387880522393591234" + strings.Repeat("a", 40),
		strings.Repeat("9", 64),
		"35480092a2f66336c64d3b65d98609f4035e530a11959281f4e087e257cac5c9",
	} {
		id := BatchID("medical_settlement", root)
		if !model.ValidID(id) {
			t.Errorf("BatchID(%s…) = %q is not a valid id", root[:24], id)
		}
	}
	if got, want := BatchID("tax", strings.Repeat("9", 64)), "tax-999999999999-999999999999"; got != want {
		t.Errorf("BatchID = %q, want %q", got, want)
	}
}

// TestSplitPlaintext: a salted payload splits into its salt and body; the
// payload of a provider that does not salt yet is all body.
func TestSplitPlaintext(t *testing.T) {
	body := []byte(`{"type":"quanchain.predicate.v1","answer":true}`)
	salt := NewDigestSalt()
	d, err := newDelivery(salt, body, 0)
	if err != nil {
		t.Fatal(err)
	}
	gotSalt, gotBody, err := SplitPlaintext(d.Plaintext())
	if err != nil || !bytes.Equal(gotSalt, salt) || !bytes.Equal(gotBody, body) {
		t.Fatalf("salted: %x %s %v", gotSalt, gotBody, err)
	}
	gotSalt, gotBody, err = SplitPlaintext(body)
	if err != nil || gotSalt != nil || !bytes.Equal(gotBody, body) {
		t.Fatalf("unsalted: %x %s %v", gotSalt, gotBody, err)
	}
	if _, _, err := SplitPlaintext(salt); err == nil {
		t.Fatal("a payload of a salt alone split")
	}
}
