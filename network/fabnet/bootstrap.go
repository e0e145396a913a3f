package fabnet

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// demoRegistry is the registry written by Bootstrap: the operator, the
// other member institutions, the data categories and the purpose templates.
//
//go:embed demo/registry.json
var demoRegistry []byte

// registryData is demo/registry.json. Entries are kept as raw JSON and
// sent exactly as written; they are decoded only to read their keys.
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
	query    string
	key      string
	notFound model.Code
	submit   string
	arg      json.RawMessage
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
	registry := conn.Contract("registry")
	submitted := 0
	// Entries of one tier are independent (distinct keys) and go in
	// parallel; a tier depends on the previous one (a category names its
	// provider institution, a purpose its categories).
	for _, tier := range tiers {
		done := make([]bool, len(tier))
		err := parallel(indexes(len(tier)), func(i int) error {
			var err error
			done[i], err = ensureEntry(ctx, registry, tier[i])
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
	if err := json.Unmarshal(d.Operator, &op); err != nil {
		return nil, fmt.Errorf("demo registry operator: %w", err)
	}
	tiers := [][]registryEntry{{{
		what: "operator " + op.MSPID, query: "GetConfig", notFound: model.CodeNotBootstrapped,
		submit: "Bootstrap", arg: d.Operator,
	}}, nil, nil, nil}
	for _, raw := range d.Institutions {
		var inst model.Institution
		if err := json.Unmarshal(raw, &inst); err != nil {
			return nil, fmt.Errorf("demo registry institution: %w", err)
		}
		tiers[1] = append(tiers[1], registryEntry{what: "institution " + inst.MSPID, query: "GetInstitution",
			key: inst.MSPID, notFound: model.CodeInstitutionNotFound, submit: "RegisterInstitution", arg: raw})
	}
	for _, raw := range d.Categories {
		var cat model.Category
		if err := json.Unmarshal(raw, &cat); err != nil {
			return nil, fmt.Errorf("demo registry category: %w", err)
		}
		tiers[2] = append(tiers[2], registryEntry{what: "category " + cat.Code, query: "GetCategory",
			key: cat.Code, notFound: model.CodeCategoryNotFound, submit: "RegisterCategory", arg: raw})
	}
	for _, raw := range d.Purposes {
		var p model.Purpose
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("demo registry purpose: %w", err)
		}
		tiers[3] = append(tiers[3], registryEntry{what: "purpose " + p.Code, query: "GetPurpose",
			key: p.Code, notFound: model.CodePurposeNotFound, submit: "RegisterPurpose", arg: raw})
	}
	return tiers, nil
}

// ensureEntry submits e unless its query finds it; it reports whether it
// submitted.
func ensureEntry(ctx context.Context, registry *client.Contract, e registryEntry) (bool, error) {
	var args []string
	if e.key != "" {
		args = []string{e.key}
	}
	_, err := registry.EvaluateWithContext(ctx, e.query, client.WithArguments(args...))
	if err == nil {
		return false, nil
	}
	if code, ok := chaincodeCode(err); !ok || code != e.notFound {
		return false, fmt.Errorf("query %s: %w", e.what, err)
	}
	if _, err := fabconn.Submit(ctx, registry, e.submit, string(e.arg)); err != nil {
		if code, ok := chaincodeCode(err); ok && (code == model.CodeAlreadyExists || code == model.CodeAlreadyBootstrapped) {
			return false, nil // written concurrently by someone else
		}
		return false, fmt.Errorf("register %s: %w", e.what, err)
	}
	return true, nil
}

// chaincodeCode extracts the chaincode's stable error code from a gateway
// error: from its text or from the endorsers' error details.
func chaincodeCode(err error) (model.Code, bool) {
	if e, ok := model.ParseError(err.Error()); ok {
		return e.Code, true
	}
	st, ok := status.FromError(err)
	if !ok {
		return "", false
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*gateway.ErrorDetail); ok {
			if e, ok := model.ParseError(detail.GetMessage()); ok {
				return e.Code, true
			}
		}
	}
	return "", false
}
