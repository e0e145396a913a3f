package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// decodeJSON decodes the request body into v strictly: JSON content type,
// one object, no unknown fields, no wrong types, no trailing data. The
// body is already bounded by the body-limit middleware.
func decodeJSON(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return apiErr(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the request body must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "unexpected data after the JSON object")
	}
	return nil
}

// jsonError explains a decoding failure without echoing the input.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the JSON is truncated")
	case errors.As(err, &se):
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "JSON syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the body must be a JSON object")
		}
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "field %q must be of type %s", te.Field, jsonType(te.Type.Kind().String()))
	}
	if name, ok := bytes.CutPrefix([]byte(err.Error()), []byte("json: unknown field ")); ok {
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, "unknown field %s", name)
	}
	return apiErr(http.StatusBadRequest, CodeMalformedJSON, "the body is not valid JSON")
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return kind
}

// writeJSON writes v as the JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
