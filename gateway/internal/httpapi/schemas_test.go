package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/demo"
)

// TestSchemasPublished: every registered category has its schema, at the
// registry's schema version, listing the registry's fields.
func TestSchemasPublished(t *testing.T) {
	h := newHarness(t)
	reg, err := demo.LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	w := h.do("GET", "/v1/schemas", "")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	list := decodeBody[struct {
		Items []struct {
			Category      string          `json:"category"`
			SchemaVersion int             `json:"schema_version"`
			Schema        json.RawMessage `json:"schema"`
		} `json:"items"`
	}](t, w)
	if len(list.Items) != len(reg.Categories) {
		t.Fatalf("%d schemas for %d categories", len(list.Items), len(reg.Categories))
	}
	for i, c := range reg.Categories {
		it := list.Items[i]
		if it.Category != c.Code || it.SchemaVersion != c.SchemaVersion {
			t.Errorf("item %d: %s v%d, want %s v%d", i, it.Category, it.SchemaVersion, c.Code, c.SchemaVersion)
		}
		w := h.do("GET", "/v1/schemas/"+c.Code, "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", c.Code, w.Code, w.Body)
		}
		doc := decodeBody[struct {
			Version    int                        `json:"x-schema-version"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}](t, w)
		if doc.Version != c.SchemaVersion || len(doc.Properties) != len(c.Fields)+1 || len(doc.Required) != len(doc.Properties) {
			t.Errorf("%s: version %d, %d properties, %d required; registry: v%d, %d fields", c.Code, doc.Version,
				len(doc.Properties), len(doc.Required), c.SchemaVersion, len(c.Fields))
		}
		for _, f := range c.Fields {
			if _, ok := doc.Properties[f.Name]; !ok {
				t.Errorf("%s: field %s not in the schema", c.Code, f.Name)
			}
		}
	}
	if w := h.do("GET", "/v1/schemas/"+model.CategoryTax+"x", ""); w.Code != 404 || errCode(t, w) != CodeNotFound {
		t.Fatalf("unknown category: %d %s", w.Code, w.Body)
	}
}
