package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/gateway/internal/recordschema"
)

// schemaList is the body of GET /v1/schemas.
type schemaList struct {
	Items []recordschema.Schema `json:"items"`
}

// listSchemas publishes every category's record schema (package
// recordschema): its version and JSON Schema document.
func (s *Server) listSchemas(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, schemaList{Items: recordschema.All()})
	return nil
}

// getSchema publishes one category's record schema, the JSON Schema
// document itself.
func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) error {
	sc, ok := recordschema.Get(chi.URLParam(r, "category"))
	if !ok {
		return apiErr(http.StatusNotFound, CodeNotFound, "no schema for this category")
	}
	writeJSON(w, http.StatusOK, sc.Document)
	return nil
}
