package fabnet

import (
	"context"
	"fmt"
	"io"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/demo"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// registryEntry is one registry write: the query that tells whether it
// exists, the error code that says it does not, and the transaction.
type registryEntry struct {
	what     string
	query    func(context.Context, *ledger.Ledger) error
	notFound model.Code
	register func(context.Context, *ledger.Ledger) error
}

// Bootstrap writes the demo registry (package demo) through the
// operator's (BureauMSP) gateway: registry:Bootstrap naming the operator,
// then the institutions, categories and purposes. It queries before each
// write and skips what exists, so it is idempotent; it returns the number
// of transactions it submitted.
func Bootstrap(ctx context.Context, stateDir string, out io.Writer) (int, error) {
	if out == nil {
		out = io.Discard
	}
	reg, err := demo.LoadRegistry()
	if err != nil {
		return 0, err
	}
	tiers := registryTiers(reg)
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

// registryTiers orders the registry writes by dependency.
func registryTiers(reg *demo.Registry) [][]registryEntry {
	op := reg.Operator
	tiers := [][]registryEntry{{{
		what: "operator " + op.MSPID, notFound: model.CodeNotBootstrapped,
		query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetConfig(ctx); return err },
		register: func(ctx context.Context, l *ledger.Ledger) error { return l.Bootstrap(ctx, op) },
	}}, nil, nil, nil}
	for _, inst := range reg.Institutions {
		tiers[1] = append(tiers[1], registryEntry{what: "institution " + inst.MSPID, notFound: model.CodeInstitutionNotFound,
			query: func(ctx context.Context, l *ledger.Ledger) error {
				_, err := l.GetInstitution(ctx, inst.MSPID)
				return err
			},
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterInstitution(ctx, inst) }})
	}
	for _, cat := range reg.Categories {
		tiers[2] = append(tiers[2], registryEntry{what: "category " + cat.Code, notFound: model.CodeCategoryNotFound,
			query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetCategory(ctx, cat.Code); return err },
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterCategory(ctx, cat) }})
	}
	for _, p := range reg.Purposes {
		tiers[3] = append(tiers[3], registryEntry{what: "purpose " + p.Code, notFound: model.CodePurposeNotFound,
			query:    func(ctx context.Context, l *ledger.Ledger) error { _, err := l.GetPurpose(ctx, p.Code); return err },
			register: func(ctx context.Context, l *ledger.Ledger) error { return l.RegisterPurpose(ctx, p) }})
	}
	return tiers
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
