// Package recordschema publishes the versioned schema of each data
// category's records as JSON Schema (draft 2020-12): the members a record of
// the category carries, their JSON types and formats, and the category's
// schema version, the one a citizen's signed decision names.
//
// # Source of truth
//
// catalogue.json is generated, never edited by hand: the members and their
// types come from the record types of the synthetic data generator
// (gateway/internal/synth), which is what the demo digital safe holds; the
// titles and the schema version come from the category's entry in the
// registry (internal/demo/registry.json, the fields the consent app shows
// the citizen). The generator is a test: `go test ./gateway/internal/recordschema
// -run TestCatalogue -update` rewrites the file, and without -update the
// test fails when the file is stale. Production code does not import the
// generator.
package recordschema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Schema is one category's record schema: its code, its version and the
// JSON Schema document.
type Schema struct {
	Category      string          `json:"category"`
	SchemaVersion int             `json:"schema_version"`
	Document      json.RawMessage `json:"schema"`
}

var catalogue = mustLoad(catalogueJSON)

func mustLoad(b []byte) []Schema {
	var out []Schema
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		panic(fmt.Sprintf("recordschema: embedded catalogue: %v", err)) // a build defect, caught by every test run
	}
	return out
}

// All returns every category's schema, in the catalogue's order (the
// standard catalogue's).
func All() []Schema { return slices.Clone(catalogue) }

// Get returns the schema of a category.
func Get(category string) (Schema, bool) {
	for _, s := range catalogue {
		if s.Category == category {
			return s, true
		}
	}
	return Schema{}, false
}
