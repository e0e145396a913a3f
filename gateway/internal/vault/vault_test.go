package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/internal/resident"
)

var (
	ctx      = context.Background()
	testKey  = bytes.Repeat([]byte{0x5a}, 32)
	dataFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dataTo   = time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
)

// fakeAnchorer stands in for the ledger's anchor contract. It keeps the
// anchored batches, fails the calls listed in failOn (1-based), and like
// the ledger refuses a second anchor of the same batch id — but, as the
// Anchorer contract asks, answers it with the first transaction id when
// the root and size are the same.
type fakeAnchorer struct {
	mu      sync.Mutex
	calls   int
	failOn  map[int]bool
	lose    map[int]bool // anchor, then report failure (answer lost)
	batches map[string]fakeBatch
}

type fakeBatch struct {
	category, root, txID string
	leafCount            int
}

func newFakeAnchorer() *fakeAnchorer {
	return &fakeAnchorer{failOn: map[int]bool{}, lose: map[int]bool{}, batches: map[string]fakeBatch{}}
}

func (f *fakeAnchorer) AnchorBatch(_ context.Context, batchID, category, root string, leafCount int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failOn[f.calls] {
		return "", errors.New("endorsement failed")
	}
	if b, ok := f.batches[batchID]; ok {
		if b.root != root || b.leafCount != leafCount {
			return "", errors.New("ALREADY_EXISTS: another batch with this id")
		}
		return b.txID, nil
	}
	tx := fmt.Sprintf("tx-%04d", f.calls)
	f.batches[batchID] = fakeBatch{category, root, tx, leafCount}
	if f.lose[f.calls] {
		return "", errors.New("context deadline exceeded")
	}
	return tx, nil
}

// lookup reads an anchor as a requester reads it from its peer.
func (f *fakeAnchorer) lookup(_ context.Context, batchID string) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.batches[batchID]
	if !ok {
		return "", 0, errors.New("BATCH_NOT_FOUND")
	}
	return b.root, b.leafCount, nil
}

func sqliteDSN(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "safe.db") }

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newImporter(t *testing.T, st *store.Store, a Anchorer) *Importer {
	t.Helper()
	p, err := NewPseudonymiser(testKey)
	if err != nil {
		t.Fatalf("NewPseudonymiser: %v", err)
	}
	return &Importer{Store: st, Pseudonymiser: p, Anchorer: a, BatchSize: 64}
}

// dataset returns the JSON Lines of one category for the citizens.
func dataset(t *testing.T, seed int64, citizens []synth.Citizen, category string) []byte {
	t.Helper()
	seq, err := synth.Records(seed, citizens, []string{category}, dataFrom, dataTo)
	if err != nil {
		t.Fatalf("synth.Records: %v", err)
	}
	var buf bytes.Buffer
	if _, err := synth.WriteJSONL(&buf, seq); err != nil {
		t.Fatalf("synth.WriteJSONL: %v", err)
	}
	return buf.Bytes()
}

func TestRecordHash(t *testing.T) {
	// FIPS 180-2 test vector.
	sum := RecordHash([]byte("abc"))
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("RecordHash(abc) = %s, want %s", got, want)
	}
}

func TestPseudonymiser(t *testing.T) {
	if _, err := NewPseudonymiser(make([]byte, 31)); err == nil {
		t.Fatalf("NewPseudonymiser took a 31-byte key")
	}
	p, err := NewPseudonymiser(testKey)
	if err != nil {
		t.Fatalf("NewPseudonymiser: %v", err)
	}
	other, err := NewPseudonymiser(bytes.Repeat([]byte{0x5b}, 32))
	if err != nil {
		t.Fatalf("NewPseudonymiser: %v", err)
	}

	const id = "11010519491231002X"
	want, err := p.Ref(id)
	if err != nil {
		t.Fatalf("Ref: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(want) {
		t.Errorf("Ref = %q, want 64 lower-case hex digits", want)
	}

	tests := []struct {
		name    string
		id      string
		same    bool
		wantErr error
	}{
		{"same number", id, true, nil},
		{"lower-case x", "11010519491231002x", true, nil},
		{"white space", "  11010519491231002X\t", true, nil},
		{"another number", "370102199003071238", false, nil},
		{"bad check character", "110105194912310021", false, resident.ErrIDChecksum},
		{"too short", "1101051949", false, resident.ErrIDLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Ref(tt.id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Ref: %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.id[:6]) {
					t.Errorf("Ref: %q names the ID number", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ref: %v", err)
			}
			if same := got == want; same != tt.same {
				t.Errorf("Ref(%q) == Ref(%q) is %v, want %v", tt.id, id, same, tt.same)
			}
		})
	}
	// The key matters: the same number gives another ref under another key.
	o, err := other.Ref(id)
	if err != nil {
		t.Fatalf("Ref: %v", err)
	}
	if o == want {
		t.Errorf("the same ref under two keys: %s", o)
	}
	// The ref is HMAC-SHA-256 and not a plain hash of the number.
	if plain := sha256.Sum256([]byte(id)); hex.EncodeToString(plain[:]) == want {
		t.Errorf("the ref is the plain SHA-256 of the number")
	}
}

// TestPairwiseRef: the pairwise ref is the documented HMAC (vectors computed
// outside Go), differs between requesters and from the vault ref, and
// depends on the key.
func TestPairwiseRef(t *testing.T) {
	p, err := NewPseudonymiser(testKey)
	if err != nil {
		t.Fatal(err)
	}
	vaultRef := strings.Repeat("ab", 32)
	for msp, want := range map[string]string{
		"BankMSP":    "8f4dbb2c291c9138db551948546e76be26942d8d7b9e94fda4fed9377404eded",
		"InsurerMSP": "1f7c44c7276ac76cd663901dbd51070616a59697a1719459d3ab0c87003f9c9f",
	} {
		if got := p.PairwiseRef(msp, vaultRef); got != want {
			t.Errorf("PairwiseRef(%s) = %s, want %s", msp, got, want)
		}
	}
	id := "11010519491231002X"
	ref, err := p.Ref(id)
	if err != nil {
		t.Fatal(err)
	}
	bank, insurer := p.PairwiseRef("BankMSP", ref), p.PairwiseRef("InsurerMSP", ref)
	if bank == insurer || bank == ref || insurer == ref {
		t.Errorf("refs not distinct: vault %s, bank %s, insurer %s", ref, bank, insurer)
	}
	if again := p.PairwiseRef("BankMSP", ref); again != bank {
		t.Errorf("PairwiseRef is not deterministic: %s then %s", bank, again)
	}
	other, _ := NewPseudonymiser(bytes.Repeat([]byte{0x5b}, 32))
	if other.PairwiseRef("BankMSP", ref) == bank {
		t.Error("PairwiseRef does not depend on the key")
	}
	// The separator keeps (MSP, ref) pairs apart that concatenate alike.
	if p.PairwiseRef("Bank", "MSP"+ref) == p.PairwiseRef("BankMSP", ref) {
		t.Error("PairwiseRef confuses its arguments' boundary")
	}
}
