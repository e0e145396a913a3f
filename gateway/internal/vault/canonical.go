package vault

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
)

// RecordHashHex is RecordHash in hex, as the store and the ledger keep it.
func RecordHashHex(b []byte) string {
	sum := RecordHash(b)
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON re-encodes a JSON value the way the provider's records are
// written, so that a record as a verifier holds it (re-indented, members
// reordered) gives the hash the safe anchored: object members sorted by
// name, no white space, strings escaped as encoding/json escapes them,
// numbers exactly as written. Duplicate member names are refused.
func CanonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeUnique(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	return json.Marshal(v)
}

// decodeUnique decodes one JSON value, refusing duplicate member names
// (which parsers resolve differently, so two readers could disagree about
// what a record says).
func decodeUnique(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				name, _ := k.(string)
				if _, dup := m[name]; dup {
					return nil, errors.New("duplicate member")
				}
				if m[name], err = decodeUnique(dec); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token()
			return m, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeUnique(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, errors.New("unexpected delimiter")
	}
	return tok, nil
}
