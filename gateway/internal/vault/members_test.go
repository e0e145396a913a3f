package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// referenceMembers is the plain way to read a record's members, through
// encoding/json's decoder: objectFields must agree with it on every input.
func referenceMembers(data []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		if _, dup := members[name]; dup {
			return nil, errors.New("duplicate member")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		members[name] = raw
	}
	return members, nil
}

var memberCases = []string{
	`{}`,
	` { } `,
	`{"category":"tax","citizen_id":"110105199001010012","record_date":"2026-01-25"}`,
	`{"category" : "tax" , "n" : -1.5e3 , "ok" : true , "none" : null , "record_date" : "2026-01-25" }`,
	`{"a":{"category":"x","b":[1,{"c":"]}"}]},"category":"tax"}`,
	`{"category":"t\u0061x","citizen_id":"a\"b\\c"}`,
	`{"categ\u006fry":"tax","category":"tax"}`,
	`{"category":"tax","category":"tax"}`,
	`{"x":[],"y":{},"z":"","category":"tax"}`,
	`{"x":"}","category":"tax"}`,
	`[1,2]`,
	`"category"`,
	`{"category":"tax"} {}`,
	`{"category":`,
	`{"category":"tax",}`,
	"{\"category\":\n\t\"tax\"\r\n}",
	`{"citizen_id":110105,"category":"tax"}`,
	`{"\\":"x","\\\\":"y"}`,
	`{"a\"":1,"a\\\"":2}`,
}

// TestObjectFieldsAgreesWithTheDecoder checks objectFields against
// encoding/json on valid, invalid and tricky records: the same refusals,
// the same raw values.
func TestObjectFieldsAgreesWithTheDecoder(t *testing.T) {
	for _, c := range memberCases {
		checkObjectFields(t, []byte(c))
	}
}

func FuzzObjectFields(f *testing.F) {
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkObjectFields(t, data) })
}

func checkObjectFields(t *testing.T, data []byte) {
	t.Helper()
	names := []string{"category", "citizen_id", "record_date", "a\""}
	want, wantErr := referenceMembers(data)
	got, err := objectFields(data, names...)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: objectFields error %v, decoder error %v", data, err, wantErr)
	}
	if err != nil {
		return
	}
	for i, name := range names {
		raw, ok := want[name]
		if ok != (got[i] != nil) || !bytes.Equal(got[i], raw) {
			t.Fatalf("%q: member %q is %q, decoder gives %q (present %v)", data, name, got[i], raw, ok)
		}
		if !ok {
			continue
		}
		var s string
		wantStr := raw[0] == '"' && json.Unmarshal(raw, &s) == nil
		gs, isStr := stringField(got[i])
		if isStr != wantStr || gs != s {
			t.Fatalf("%q: member %q reads as %q (string %v), decoder %q (string %v)", data, name, gs, isStr, s, wantStr)
		}
	}
}
