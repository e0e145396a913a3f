package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// errNotObject is objectFields' refusal; parseLine reports it as
// ErrMalformed.
var errNotObject = errors.New("not a JSON object with unique member names")

// objectFields checks that data is one JSON object whose member names are
// all different (compared after unescaping, as a parser sees them) with
// nothing after it, and returns the raw values of the members named in
// names, in that order (nil for a member absent).
//
// It is the import's hot path: after json.Valid it walks the object's top
// level once, without building a map or decoding values it does not need.
func objectFields(data []byte, names ...string) ([][]byte, error) {
	if !json.Valid(data) {
		return nil, errNotObject
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, errNotObject
	}
	values := make([][]byte, len(names))
	var seen [16][]byte // member names, unescaped; most records have fewer
	keys := seen[:0]
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return values, nil
	}
	for {
		end := stringEnd(data, i)
		key := data[i+1 : end-1]
		if !plain(key) {
			var s string
			if err := json.Unmarshal(data[i:end], &s); err != nil {
				return nil, errNotObject
			}
			key = []byte(s)
		}
		for _, k := range keys {
			if bytes.Equal(k, key) {
				return nil, errNotObject
			}
		}
		keys = append(keys, key)
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		vend := valueEnd(data, i)
		for n, name := range names {
			if string(key) == name {
				values[n] = data[i:vend]
			}
		}
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return values, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

// stringField returns the string a raw JSON value holds, and whether it is
// a string.
func stringField(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if plain(raw[1 : len(raw)-1]) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// plain reports whether a string's bytes between its quotes are what it
// holds: no escape, and valid UTF-8 (a decoder replaces invalid bytes).
func plain(b []byte) bool {
	return bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b)
}

// The scanners below walk JSON that json.Valid accepted, so they need not
// check what they skip.

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just after the string starting at data[i].
func stringEnd(data []byte, i int) int {
	for i++; ; i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// valueEnd returns the index just after the value starting at data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	default: // a number, true, false or null
		for i < len(data) && !endsScalar(data[i]) {
			i++
		}
		return i
	}
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
