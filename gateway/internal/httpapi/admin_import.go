package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// importLimit is the body limit of the dataset import.
// importTimeout bounds an import, its upload included
// (config.Config.ImportTimeout).
func importTimeout(s *Server) time.Duration {
	if s.Config.ImportTimeout > 0 {
		return s.Config.ImportTimeout
	}
	return config.Defaults().ImportTimeout
}

func importLimit(s *Server) int64 {
	if s.Config.ImportLimit > 0 {
		return s.Config.ImportLimit
	}
	return defaultImportLimit
}

// importResult is the answer to a dataset import.
type importResult struct {
	Category string `json:"category"`
	// Records counts the dataset's records; Inserted the new ones and
	// Duplicates those already in the safe (an import may be repeated).
	Records    int `json:"records"`
	Inserted   int `json:"inserted"`
	Duplicates int `json:"duplicates"`
	// Batches counts the Merkle batches this import sealed.
	Batches int `json:"batches"`
	// Anchored lists the batches this import anchored on the ledger: its
	// own and any an earlier import left unanchored, in the order their
	// anchoring ended (several are anchored at once).
	Anchored []anchoredBatch `json:"anchored"`
}

type anchoredBatch struct {
	BatchID   string `json:"batch_id"`
	Category  string `json:"category"`
	Root      string `json:"root"`
	LeafCount int    `json:"leaf_count"`
	TxID      string `json:"tx_id"`
}

// adminImportDataset imports a JSON Lines dataset of one category into the
// digital safe, all or nothing: every line is checked before the first is
// stored, and a bad line is 400 INVALID_RECORD naming the line. The records
// are then stored, sealed into Merkle batches and the batches anchored on
// the ledger. An import may be repeated: records already stored are
// skipped and batches left unanchored by a failure are anchored.
func (s *Server) adminImportDataset(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.adminCaller(r)
	if err != nil {
		return err
	}
	category := chi.URLParam(r, "category")
	if !model.ValidCategoryCode(category) {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, "the path must name a category code such as housing_fund")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-ndjson" {
		return apiErr(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the dataset must be application/x-ndjson (one JSON record per line)")
	}
	if a.cfg.Datasets == nil {
		return apiErr(http.StatusServiceUnavailable, codeAdminUnavailable, "dataset import is not configured on this gateway")
	}
	ctx := r.Context()
	// The ledger must know the category as this organisation's: only its
	// provider may anchor it, and nothing is stored that cannot be.
	cat, err := s.Ledger.GetCategory(ctx, category)
	if err != nil {
		return err
	}
	if cat.ProviderMSP != s.MSPID {
		return apiErr(http.StatusForbidden, string(model.CodeForbiddenMSP), "category %s is provided by another organisation", category)
	}

	// Another import running is waited for as long as any request may
	// take (RequestTimeout), not as long as an import may.
	wait, stopWaiting := context.WithTimeout(ctx, s.Config.RequestTimeout)
	defer stopWaiting()
	select {
	case a.importing <- struct{}{}:
		defer func() { <-a.importing }()
	case <-wait.Done():
		return apiErr(http.StatusServiceUnavailable, CodeImportBusy, "another import is running; retry later")
	}
	// The body is checked as it arrives and kept in a spool file, which
	// the import then reads: all or nothing, and memory does not grow
	// with the dataset.
	spool, err := os.CreateTemp(a.cfg.SpoolDir, "import-*.jsonl")
	if err != nil {
		return fmt.Errorf("spool the dataset: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	spooled := bufio.NewWriterSize(spool, 256<<10)
	lines, err := a.cfg.Datasets.Check(ctx, category, io.TeeReader(r.Body, spooled))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return mbe
	case err != nil:
		var le *vault.LineError
		if !errors.As(err, &le) && !errors.Is(err, vault.ErrCategoryNotServed) && ctx.Err() == nil {
			return apiErr(http.StatusBadRequest, CodeInvalidArgument, "the dataset could not be read")
		}
		return datasetError(err)
	case lines == 0:
		return apiErr(http.StatusBadRequest, CodeInvalidRecord, "the dataset is empty")
	}
	if err := spooled.Flush(); err != nil {
		return fmt.Errorf("spool the dataset: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool the dataset: %w", err)
	}

	log := &anchorLog{}
	res, err := a.cfg.Datasets.Import(withAnchorLog(ctx, log), category, bufio.NewReaderSize(spool, 256<<10))
	if err != nil {
		s.log.WarnContext(ctx, "dataset import incomplete", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("category", category), slog.Int("inserted", res.Inserted), slog.Int("batches", len(res.Batches)),
			slog.Int("anchored", res.Anchored), slog.String("error", err.Error()))
		return datasetError(err)
	}
	writeJSON(w, http.StatusOK, importResult{Category: category, Records: res.Lines, Inserted: res.Inserted,
		Duplicates: res.Duplicates, Batches: len(res.Batches), Anchored: log.list()})
	return nil
}

// datasetError maps a vault error: a bad line is the client's, naming the
// line and the rule, never the content; a ledger error keeps its code (the
// records stay stored and a repeated import anchors what is left).
func datasetError(err error) error {
	var le *vault.LineError
	switch {
	case errors.As(err, &le):
		return apiErr(http.StatusBadRequest, CodeInvalidRecord, "line %d: %s", le.Line, strings.TrimPrefix(le.Err.Error(), "vault: "))
	case errors.Is(err, vault.ErrCategoryNotServed):
		return apiErr(http.StatusUnprocessableEntity, CodeCategoryNotServed, "this gateway's digital safe does not hold this category")
	}
	return err
}

// ReportingAnchorer wraps the digital safe's Anchorer (normally a
// ledger.BatchAnchorer) so that a dataset import reports the batches
// anchored while it ran, with their transaction ids. Give the Importer of
// AdminConfig.Datasets this wrapper; outside an import it only anchors.
func ReportingAnchorer(a vault.Anchorer) vault.Anchorer {
	return vault.AnchorerFunc(func(ctx context.Context, batchID, category, root string, leafCount int) (string, error) {
		txID, err := a.AnchorBatch(ctx, batchID, category, root, leafCount)
		if err != nil {
			return "", err
		}
		if log, ok := ctx.Value(anchorLogKey{}).(*anchorLog); ok && txID != "" {
			log.add(anchoredBatch{BatchID: batchID, Category: category, Root: root, LeafCount: leafCount, TxID: txID})
		}
		return txID, nil
	})
}

// anchorLog collects the batches anchored during one import.
type anchorLog struct {
	mu      sync.Mutex
	batches []anchoredBatch
}

type anchorLogKey struct{}

func withAnchorLog(ctx context.Context, l *anchorLog) context.Context {
	return context.WithValue(ctx, anchorLogKey{}, l)
}

func (l *anchorLog) add(b anchoredBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, b)
}

func (l *anchorLog) list() []anchoredBatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]anchoredBatch{}, l.batches...)
}
