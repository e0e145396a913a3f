package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// safeRecord is one record of the citizen's digital safe as the consent
// app shows it to the citizen themselves (我的数据): its values, and what
// a verifier needs to tie it to the ledger — its hash, its salt and its
// place in an anchored Merkle batch.
type safeRecord struct {
	Category   string          `json:"category"`
	RecordDate string          `json:"record_date"`
	Values     json.RawMessage `json:"values"`
	RecordHash string          `json:"record_hash"`
	Revoked    bool            `json:"revoked,omitempty"`
	Proof      *safeProof      `json:"proof,omitempty"` // absent until the record is in a batch
}

// safeProof places a record in its batch: with the batch's leaves (the
// provider's proof object) anyone recomputes the root and checks the
// anchoring transaction on the ledger.
type safeProof struct {
	BatchID    string `json:"batch_id"`
	LeafIndex  int    `json:"leaf_index"`
	LeafCount  int    `json:"leaf_count"`
	Root       string `json:"root"`
	Salt       string `json:"salt,omitempty"` // hex; "" for a record stored before salts
	Anchored   bool   `json:"anchored"`
	AnchorTxID string `json:"anchor_tx_id,omitempty"`
	AnchoredAt string `json:"anchored_at,omitempty"`
}

type safeRecordList struct {
	Items      []safeRecord `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// safeRecordsQuery reads category (optional), cursor and limit.
func safeRecordsQuery(r *http.Request) (string, ledger.ListQuery, error) {
	qs := r.URL.Query()
	cat := qs.Get("category")
	if v, ok := qs["category"]; ok {
		if len(v) != 1 {
			return "", ledger.ListQuery{}, apiErr(http.StatusBadRequest, CodeInvalidArgument, "query parameter \"category\" is repeated")
		}
		if !model.ValidCategoryCode(cat) {
			return "", ledger.ListQuery{}, apiErr(http.StatusBadRequest, CodeInvalidArgument, "category must be a category code such as housing_fund")
		}
		qs.Del("category")
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = qs.Encode()
	q, err := citizenListQuery(r2, false)
	return cat, q, err
}

// citizenSafeRecords lists the caller's own records (the token's subject
// is the ref the safe keeps them under), optionally of one category, in
// category, date and id order, with their values and proof information.
func (s *Server) citizenSafeRecords(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	cat, q, err := safeRecordsQuery(r)
	if err != nil {
		return err
	}
	var cats []string
	if cat != "" {
		cats = []string{cat}
	}
	all, err := c.cfg.Store.RecordsFor(r.Context(), ref, cats, "", "")
	if err != nil {
		return err
	}
	items, next, err := pageOf(all, q)
	if err != nil {
		return err
	}
	out := safeRecordList{Items: make([]safeRecord, 0, len(items)), NextCursor: next}
	batches := map[string]store.Batch{}
	for _, rec := range items {
		sr := safeRecord{Category: rec.Category, RecordDate: rec.RecordDate, RecordHash: rec.Hash, Revoked: rec.Revoked}
		if json.Valid(rec.Body) {
			sr.Values = json.RawMessage(rec.Body)
		} else {
			b, _ := json.Marshal(string(rec.Body))
			sr.Values = b
		}
		if rec.BatchID != "" {
			if sr.Proof, err = c.proofOf(r.Context(), batches, rec); err != nil {
				return err
			}
		}
		out.Items = append(out.Items, sr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// proofOf places rec in its batch, read once per request.
func (c *CitizenAPI) proofOf(ctx context.Context, batches map[string]store.Batch, rec store.Record) (*safeProof, error) {
	b, ok := batches[rec.BatchID]
	if !ok {
		var err error
		b, err = c.cfg.Store.GetBatch(ctx, rec.BatchID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		batches[rec.BatchID] = b
	}
	p := &safeProof{BatchID: b.ID, LeafIndex: rec.LeafIndex, LeafCount: b.LeafCount, Root: b.Root,
		Anchored: b.AnchoredTxID != "", AnchorTxID: b.AnchoredTxID}
	if rec.Salt != nil {
		p.Salt = hex.EncodeToString(rec.Salt)
	}
	if !b.AnchoredAt.IsZero() {
		p.AnchoredAt = model.FormatTime(b.AnchoredAt)
	}
	return p, nil
}
