package recordschema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// validate checks a record against a schema document. It knows the
// keywords the catalogue uses and fails on any other, so a schema it
// cannot check is not passed silently.
func validate(schema json.RawMessage, record []byte) error {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(record)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return check(s, v, "")
}

func check(s map[string]any, v any, path string) error {
	for k, kv := range s {
		switch k {
		case "$schema", "$id", "title", "description", "x-name-zh", "x-schema-version", "format":
		case "type":
			if err := checkType(kv.(string), v); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		case "const":
			if v != kv {
				return fmt.Errorf("%s: %v is not %v", path, v, kv)
			}
		case "enum":
			if !slices.Contains(kv.([]any), v) {
				return fmt.Errorf("%s: %v is not one of %v", path, v, kv)
			}
		case "pattern":
			if str, ok := v.(string); !ok || !regexp.MustCompile(kv.(string)).MatchString(str) {
				return fmt.Errorf("%s: %v does not match %s", path, v, kv)
			}
		case "properties", "required", "additionalProperties":
			obj, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not an object", path)
			}
			props, _ := s["properties"].(map[string]any)
			switch k {
			case "properties":
				for name, sub := range props {
					if mv, ok := obj[name]; ok {
						if err := check(sub.(map[string]any), mv, path+"/"+name); err != nil {
							return err
						}
					}
				}
			case "required":
				for _, name := range kv.([]any) {
					if _, ok := obj[name.(string)]; !ok {
						return fmt.Errorf("%s: %s is missing", path, name)
					}
				}
			case "additionalProperties":
				if kv != false {
					return fmt.Errorf("additionalProperties %v is not checked", kv)
				}
				for name := range obj {
					if _, ok := props[name]; !ok {
						return fmt.Errorf("%s: member %s is not in the schema", path, name)
					}
				}
			}
		default:
			return fmt.Errorf("%s: keyword %s is not checked", path, k)
		}
	}
	if s["format"] == "date" {
		if _, err := time.Parse(time.DateOnly, v.(string)); err != nil {
			return fmt.Errorf("%s: %v is not a date", path, v)
		}
	}
	return nil
}

func checkType(want string, v any) error {
	ok := false
	switch want {
	case "string":
		_, ok = v.(string)
	case "integer":
		n, isNum := v.(json.Number)
		_, err := n.Int64()
		ok = isNum && err == nil
	case "object":
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%v is not of type %s", v, want)
	}
	return nil
}

// TestSynthRecordsValidate: every record the generator makes, for a few
// hundred citizens over three years, validates against its category's
// published schema; and every category has records that do.
func TestSynthRecordsValidate(t *testing.T) {
	to := time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
	people := append(synth.Citizens(7, 200), synth.PersonaCitizens()...)
	recs, err := synth.Records(7, people, nil, to.AddDate(-3, 0, 0), to)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for r := range recs {
		s, ok := Get(r.Category)
		if !ok {
			t.Fatalf("no schema for %s", r.Category)
		}
		if err := validate(s.Document, r.Body); err != nil {
			t.Fatalf("%s record %s: %v", r.Category, r.Body, err)
		}
		seen[r.Category]++
	}
	for _, c := range synth.Categories() {
		if seen[c] == 0 {
			t.Errorf("no %s record was checked", c)
		}
	}
}

// TestValidatorRejects: the checks above can fail.
func TestValidatorRejects(t *testing.T) {
	s, _ := Get(synth.DeathRegistration)
	good := `{"category":"death_registration","citizen_id":"37010219850312001X","death_date":"2026-05-01","place":"历下区","record_date":"2026-05-03","registration_no":"3701022026000001"}`
	if err := validate(s.Document, []byte(good)); err != nil {
		t.Fatalf("good record: %v", err)
	}
	for name, bad := range map[string]string{
		"missing member": strings.Replace(good, `"place":"历下区",`, "", 1),
		"extra member":   strings.Replace(good, `"place"`, `"cause":"x","place"`, 1),
		"bad date":       strings.Replace(good, "2026-05-01", "2026-13-01", 1),
		"wrong category": strings.Replace(good, `"category":"death_registration"`, `"category":"tax"`, 1),
		"number as text": strings.Replace(good, `"registration_no":"3701022026000001"`, `"registration_no":3701022026000001`, 1),
	} {
		if err := validate(s.Document, []byte(bad)); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}
