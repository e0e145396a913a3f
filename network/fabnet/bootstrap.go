package fabnet

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// demoRegistry is the registry written by Bootstrap: the operator, the
// other member institutions, the data categories and the purpose templates.
//
//go:embed demo/registry.json
var demoRegistry []byte

// registryData is demo/registry.json. Entries are decoded into the
// model's types strictly, so a field the model does not know fails here
// instead of being dropped on its way to the chaincode.
type registryData struct {
	Operator     json.RawMessage   `json:"operator"`
	Institutions []json.RawMessage `json:"institutions"`
	Categories   []json.RawMessage `json:"categories"`
	Purposes     []json.RawMessage `json:"purposes"`
}

// registryEntry is one registry write: the query that tells whether it
// exists, the error code that says it does not, and the transaction.
type registryEntry struct {
	what     string
	query    func(context.Context, *ledger.Ledger) error
	notFound model.Code
	register func(context.Context, *ledger.Ledger) error
}

// Bootstrap writes the demo registry through the operator's (BureauMSP)
// gateway: registry:Bootstrap naming the operator, then the institutions,
// categories and purposes. It queries before each write and skips what
// exists, so it is idempotent; it returns the number of transactions it
// submitted.
func Bootstrap(ctx context.Context, stateDir string, out io.Writer) (int, error) {
	if out == nil {
		out = io.Discard
	}
	var data registryData
	dec := json.NewDecoder(bytes.NewReader(demoRegistry))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&data); err != nil {
		return 0, fmt.Errorf("parse demo registry: %w", err)
	}
	tiers, err := data.tiers()
	if err != nil {
		return 0, err
	}
	conn, err := fabconn.Connect(ctx, stateDir, "BureauMSP")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	l := ledger.FromConnection(conn)
	submitted := 0
	// Entries of one tier are independent (distinct keys) and go in
	// parallel; a tier depends on the previous one (a category names its
	// provider institution, a purpose its categories).
	for _, tier := range tiers {
		done := make([]bool, len(tier))
		err := parallel(indexes(len(tier)), func(i int) error {
			var err error
			done[i], err = ensureEntry(ctx, l, tier[i])
			return err
		})
		for i, d := range done {
			if d {
				submitted++
				fmt.Fprintf(out, "registered %s\n", tier[i].what)
			}
		}
		if err != nil {
			return submitted, err
		}
	}
	return submitted, nil
}

// tiers orders the registry writes by dependency.
func (d registryData) tiers() ([][]registryEntry, error) {
	var op model.Institution
	if err := decodeEntry(d.Operator, &op); err != nil {
		return nil, fmt.Errorf("demo registry operator: %w", err)
	}
	tiers := [][]registryEntry{{{
		what: "operator " + op.MSPID, notFound: model.CodeNotBootstrapped,
		query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetConfig(ctx); return err },
		register: func(ctx context.Context, l *ledger.Ledger) error { return l.Bootstrap(ctx, op) },
	}}, nil, nil, nil}
	for _, raw := range d.Institutions {
		var inst model.Institution
		if err := decodeEntry(raw, &inst); err != nil {
			return nil, fmt.Errorf("demo registry institution: %w", err)
		}
		tiers[1] = append(tiers[1], registryEntry{what: "institution " + inst.MSPID, notFound: model.CodeInstitutionNotFound,
			query: func(ctx context.Context, l *ledger.Ledger) error {
				_, err := l.GetInstitution(ctx, inst.MSPID)
				return err
			},
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterInstitution(ctx, inst) }})
	}
	for _, raw := range d.Categories {
		var cat model.Category
		if err := decodeEntry(raw, &cat); err != nil {
			return nil, fmt.Errorf("demo registry category: %w", err)
		}
		tiers[2] = append(tiers[2], registryEntry{what: "category " + cat.Code, notFound: model.CodeCategoryNotFound,
			query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetCategory(ctx, cat.Code); return err },
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterCategory(ctx, cat) }})
	}
	for _, raw := range d.Purposes {
		var p model.Purpose
		if err := decodeEntry(raw, &p); err != nil {
			return nil, fmt.Errorf("demo registry purpose: %w", err)
		}
		tiers[3] = append(tiers[3], registryEntry{what: "purpose " + p.Code, notFound: model.CodePurposeNotFound,
			query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetPurpose(ctx, p.Code); return err },
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterPurpose(ctx, p) }})
	}
	return tiers, nil
}

// decodeEntry decodes one registry entry, refusing unknown fields.
func decodeEntry(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ensureEntry submits e unless its query finds it; it reports whether it
// submitted.
func ensureEntry(ctx context.Context, l *ledger.Ledger, e registryEntry) (bool, error) {
	err := e.query(ctx, l)
	if err == nil {
		return false, nil
	}
	if ledger.CodeOf(err) != e.notFound {
		return false, fmt.Errorf("query %s: %w", e.what, err)
	}
	if err := e.register(ctx, l); err != nil {
		if code := ledger.CodeOf(err); code == model.CodeAlreadyExists || code == model.CodeAlreadyBootstrapped {
			return false, nil // written concurrently by someone else
		}
		return false, fmt.Errorf("register %s: %w", e.what, err)
	}
	return true, nil
}
