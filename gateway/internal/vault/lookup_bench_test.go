package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// BenchmarkSafeLookup fills a digital safe of QUANCHAIN_SAFE_CITIZENS
// citizens (default 10,000) and QUANCHAIN_SAFE_RECORDS records (default
// 100,000) in batches of QUANCHAIN_SAFE_BATCH leaves (default
// DefaultBatchSize), on SQLite and on PostgreSQL (QUANCHAIN_TEST_PG, as
// for the store tests; skipped if it does not answer), and measures the
// lookup a delivery makes: one citizen's records of two categories over a
// date range (store.RecordsFor), then the delivery body with every
// record's inclusion proof, rebuilt from its batch's leaves
// (Vault.BuildDelivery). It reports p50 and p99 over b.N lookups of
// random citizens. QUANCHAIN_SAFE_BACKEND=sqlite (or postgres) runs one
// backend only.
//
// The records are laid out as monthly datasets are imported: each round
// gives every citizen one record, of one category and month, so a
// citizen's records lie in as many batches as they have records — the
// most leaves a delivery can have to read.
//
//	QUANCHAIN_SAFE_CITIZENS=1000000 QUANCHAIN_SAFE_RECORDS=10000000 \
//	  go test -run '^$' -bench SafeLookup -benchtime 2000x -timeout 2h ./gateway/internal/vault/
func BenchmarkSafeLookup(b *testing.B) {
	citizens := envInt(b, "QUANCHAIN_SAFE_CITIZENS", 10_000)
	records := envInt(b, "QUANCHAIN_SAFE_RECORDS", 100_000)
	batch := min(envInt(b, "QUANCHAIN_SAFE_BATCH", DefaultBatchSize), MaxBatchSize)
	for _, backend := range benchBackends {
		if only := os.Getenv("QUANCHAIN_SAFE_BACKEND"); only != "" && only != backend.name {
			continue
		}
		dsn := backend.dsn(b)
		if dsn == "" {
			continue
		}
		st, err := store.Open(ctx, dsn)
		if err != nil {
			b.Fatalf("%s: %v", backend.name, err)
		}
		start := time.Now()
		if err := fillSafe(ctx, st, citizens, records, batch); err != nil {
			b.Fatalf("%s: fill: %v", backend.name, err)
		}
		b.Logf("%s: %d citizens, %d records in batches of %d, stored in %s (%.0f records/s)", backend.name,
			citizens, records, batch, time.Since(start).Round(time.Second), float64(records)/time.Since(start).Seconds())
		b.Run(backend.name, func(b *testing.B) { benchLookups(b, st, citizens, records) })
		st.Close()
	}
}

// Categories and dates of the benchmark's safe: round r is category
// lookupCategories[r%4], dated the first of month r from January 2020.
var lookupCategories = []string{"tax", "social_security", "housing_fund", "medical_settlement"}

func lookupDate(round int) string {
	return time.Date(2020, time.January+time.Month(round), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

func citizenRef(i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "bench citizen %d", i))
	return hex.EncodeToString(sum[:])
}

// fillSafe stores records records, round by round, in anchored batches.
func fillSafe(ctx context.Context, st *store.Store, citizens, records, batch int) error {
	salts := make([]byte, merkle.SaltSize*batch)
	chunk := make([]store.Record, 0, batch)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		cat := chunk[0].Category
		b, err := st.InsertBatch(ctx, cat, chunk, func(root string) string { return BatchID(cat, root) })
		if err != nil {
			return err
		}
		chunk = chunk[:0]
		return st.MarkBatchAnchored(ctx, b.ID, "tx-"+b.ID, time.Now())
	}
	rand.Read(salts)
	for j := range records {
		round, c := j/citizens, j%citizens
		if c == 0 || len(chunk) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
		cat, date := lookupCategories[round%len(lookupCategories)], lookupDate(round)
		body := fmt.Appendf(nil, `{"category":%q,"citizen":%d,"record_date":%q,"amount_fen":%d}`, cat, c, date, 100000+j%977)
		sum := sha256.Sum256(body)
		k := len(chunk)
		chunk = append(chunk, store.Record{CitizenRef: citizenRef(c), Category: cat, RecordDate: date, Body: body,
			Hash: hex.EncodeToString(sum[:]), Salt: salts[k*merkle.SaltSize : (k+1)*merkle.SaltSize]})
	}
	return flush()
}

// benchLookups makes b.N deliveries' lookups of random citizens and
// reports their p50 and p99.
func benchLookups(b *testing.B, st *store.Store, citizens, records int) {
	v := New(st)
	rounds := (records + citizens - 1) / citizens
	from, to := lookupDate(0), lookupDate(rounds)
	cats := lookupCategories[:2]
	rng := mrand.New(mrand.NewPCG(1, 2))
	times := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref := citizenRef(rng.IntN(min(citizens, records)))
		start := time.Now()
		recs, err := st.RecordsFor(ctx, ref, cats, from, to)
		if err != nil {
			b.Fatal(err)
		}
		h := DeliveryHeader{AccessID: "acc", AuthorizationID: "auth", Requester: "BankMSP", Categories: cats, DataFrom: from, DataTo: to}
		if _, err := v.BuildDelivery(ctx, h, NewDigestSalt(), recs); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		found += len(recs)
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(found)/float64(b.N), "records/lookup")
}

// benchBackends are the stores the scale benchmarks run on: a fresh SQLite
// file, and a fresh database on PostgreSQL ("" if it does not answer).
var benchBackends = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "safe.db") }},
	{"postgres", benchPostgres},
}

// benchPostgres creates a database for the benchmark on the server of
// QUANCHAIN_TEST_PG (the store tests' default if unset) and returns its
// DSN, or "" if the server does not answer.
func benchPostgres(b *testing.B) string { return postgresDSN(b) }

// postgresDSN creates a database for the test on the server of
// QUANCHAIN_TEST_PG (the store tests' default if unset), dropped at its
// end, and returns its DSN, or "" if the server does not answer.
func postgresDSN(b testing.TB) string {
	admin := os.Getenv("QUANCHAIN_TEST_PG")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal("QUANCHAIN_TEST_PG is not a URL")
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		b.Logf("postgres: skipped, %s does not answer: %v", u.Redacted(), err)
		return ""
	}
	name := fmt.Sprintf("qc_bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			b.Errorf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}
