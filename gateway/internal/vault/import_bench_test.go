package vault

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// BenchmarkImport imports one dataset of QUANCHAIN_IMPORT_RECORDS records
// (default 20,000) into a fresh safe, on SQLite and on PostgreSQL
// (QUANCHAIN_TEST_PG, as for the store tests; skipped if it does not
// answer; QUANCHAIN_IMPORT_BACKEND=sqlite or postgres runs one), and
// anchors its batches with the real anchor contract in process
// (ledgertest), as the admin import API does after its check.
// QUANCHAIN_IMPORT_BATCH sets the leaves per batch (default
// DefaultBatchSize). The input is generated as it is read, so the peak heap
// reported is the importer's own. The ledger part here is the contract's
// work only; on a network each anchor transaction also waits for its
// commit (see docs/benchmarks.md).
//
//	QUANCHAIN_IMPORT_RECORDS=1000000 go test -run '^$' -bench Import -benchtime 1x ./gateway/internal/vault/
func BenchmarkImport(b *testing.B) {
	records := envInt(b, "QUANCHAIN_IMPORT_RECORDS", 20_000)
	batchSize := envInt(b, "QUANCHAIN_IMPORT_BATCH", DefaultBatchSize)
	citizens := synth.Citizens(3, 10_000)
	for _, backend := range benchBackends {
		if only := os.Getenv("QUANCHAIN_IMPORT_BACKEND"); only != "" && only != backend.name {
			continue
		}
		b.Run(backend.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dsn := backend.dsn(b)
				if dsn == "" {
					b.Skip("no PostgreSQL")
				}
				benchImportOnce(b, dsn, citizens, records, batchSize)
				b.StartTimer()
			}
		})
	}
}

// benchImportOnce imports records records into a fresh store at dsn and
// reports the import's throughput, time and peak heap.
func benchImportOnce(b *testing.B, dsn string, citizens []synth.Citizen, records, batchSize int) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	net := ledgertest.NewDemo(b, nil)
	p, err := NewPseudonymiser(testKey)
	if err != nil {
		b.Fatal(err)
	}
	im := &Importer{Store: st, Pseudonymiser: p, Anchorer: ledger.BatchAnchorer{Ledger: net.Ledger("BureauMSP")},
		BatchSize: batchSize}
	runtime.GC()
	peak := sampleHeap()
	cpu0 := processCPU(b)
	b.StartTimer()

	start := time.Now()
	res, err := im.Import(ctx, "tax", newGenerated(citizens, records))
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0

	b.StopTimer()
	heap := peak()
	if err != nil {
		b.Fatalf("Import: %v", err)
	}
	if res.Inserted != records || res.Anchored != len(res.Batches) {
		b.Fatalf("Import: %d inserted, %d of %d batches anchored; want %d inserted, all anchored",
			res.Inserted, res.Anchored, len(res.Batches), records)
	}
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(elapsed.Seconds(), "s/import")
	b.ReportMetric(float64(heap)/(1<<20), "MiB-peak-heap")
	b.ReportMetric(float64(len(res.Batches)), "batches")
	// The importer's own CPU (this process: reading, checking, hashing,
	// the driver, the contract); the database server's is not in it.
	b.ReportMetric(cpu.Seconds(), "cpu-s/import")
}

// processCPU returns the CPU time, user and system, this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// envInt reads a positive integer from the environment, or def.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// sampleHeap samples HeapInuse every 10 ms until the returned function is
// called, which returns the highest value seen.
func sampleHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		read()
		return peak.Load()
	}
}

// newGenerated returns a reader of n distinct tax records of the citizens
// in JSON Lines, generated as they are read.
func newGenerated(citizens []synth.Citizen, n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var line []byte
		for i := range n {
			c := citizens[i%len(citizens)]
			line = append(line[:0], `{"category":"tax","citizen_id":"`...)
			line = append(line, c.IDNumber...)
			line = append(line, `","record_date":"`...)
			line = day.AddDate(0, 0, (i/len(citizens))%700).AppendFormat(line, time.DateOnly)
			line = append(line, `","serial":`...)
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, `,"taxable_income_fen":1234500,"tax_fen":23450,"withholding_agent":"91370100MA3C000000"}`+"\n"...)
			if _, err := w.Write(line); err != nil {
				return
			}
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}
