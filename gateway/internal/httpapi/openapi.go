package httpapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
)

// openAPIFiles hold the OpenAPI 3.1 description of the route table:
// openapi.json is the document (info, security, shared components, the
// common routes); each openapi-<area>.json adds the "paths" and
// "components.schemas" of one area of the API. TestOpenAPIMatchesRoutes keeps
// the merged document and the route table in step.
//
//go:embed openapi*.json
var openAPIFiles embed.FS

// openAPIDocument is the merged document served at /openapi.json.
var openAPIDocument = mustMergeOpenAPI(openAPIFiles)

// mustMergeOpenAPI merges the area fragments into the base document. The
// files are embedded, so a malformed one is a build defect caught by every
// test run.
func mustMergeOpenAPI(fsys fs.FS) []byte {
	b, err := mergeOpenAPI(fsys)
	if err != nil {
		panic(fmt.Sprintf("httpapi: embedded OpenAPI document: %v", err))
	}
	return b
}

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	base, err := readJSONObject(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	paths, _ := base["paths"].(map[string]any)
	components, _ := base["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if paths == nil || schemas == nil {
		return nil, fmt.Errorf("openapi.json needs paths and components.schemas")
	}
	names, err := fs.Glob(fsys, "openapi-*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		part, err := readJSONObject(fsys, name)
		if err != nil {
			return nil, err
		}
		for k, v := range asObject(part["paths"]) {
			if _, dup := paths[k]; dup {
				return nil, fmt.Errorf("%s: path %s is already described", name, k)
			}
			paths[k] = v
		}
		for k, v := range asObject(asObject(part["components"])["schemas"]) {
			if _, dup := schemas[k]; dup {
				return nil, fmt.Errorf("%s: schema %s is already described", name, k)
			}
			schemas[k] = v
		}
	}
	return json.MarshalIndent(base, "", "  ")
}

func readJSONObject(fsys fs.FS, name string) (map[string]any, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
	return nil
}
