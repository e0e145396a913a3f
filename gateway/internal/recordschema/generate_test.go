package recordschema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/internal/demo"
)

var update = flag.Bool("update", false, "rewrite catalogue.json from the record types and the registry")

// recordTypes are the generator's record type of each category.
var recordTypes = map[string]any{
	model.CategoryHousingFund: synth.HousingFundRecord{}, model.CategorySocialSecurity: synth.SocialSecurityRecord{},
	model.CategoryTax: synth.TaxRecord{}, model.CategoryRealEstate: synth.RealEstateRecord{},
	model.CategoryMedicalSettlement: synth.MedicalSettlementRecord{}, model.CategoryVehicleRegistration: synth.VehicleRegistrationRecord{},
	model.CategoryTrafficCredit: synth.TrafficCreditRecord{}, model.CategoryDeathRegistration: synth.DeathRegistrationRecord{},
	model.CategoryELicence: synth.ELicenceRecord{},
}

// Formats of members by name: dates, months, the ID number, and the few
// members whose values are a closed set.
var (
	datePattern  = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	monthPattern = `^[0-9]{4}-(0[1-9]|1[0-2])$`
	memberRules  = map[string]map[string]any{
		"citizen_id":     {"pattern": `^[0-9]{17}[0-9X]$`},
		"record_date":    {"format": "date", "pattern": datePattern},
		"admission_date": {"format": "date", "pattern": datePattern},
		"discharge_date": {"format": "date", "pattern": datePattern},
		"death_date":     {"format": "date", "pattern": datePattern},
		"month":          {"pattern": monthPattern},
		"area_m2":        {"pattern": `^[0-9]+\.[0-9]{2}$`},
		"insurance":      {"enum": []string{"pension", "medical"}},
		"visit_type":     {"enum": []string{"outpatient", "inpatient"}},
		"share":          {"enum": []string{"sole", "joint"}},
	}
)

// generate builds the catalogue from the registry and the record types.
func generate(t *testing.T) []byte {
	t.Helper()
	reg, err := demo.LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var out []Schema
	for _, c := range reg.Categories {
		rec, ok := recordTypes[c.Code]
		if !ok {
			t.Fatalf("category %s: no record type", c.Code)
		}
		labels := map[string]model.CategoryField{}
		for _, f := range c.Fields {
			labels[f.Name] = f
		}
		props := map[string]any{}
		var required []string
		rt := reflect.TypeOf(rec)
		for i := range rt.NumField() {
			f := rt.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			p := map[string]any{}
			switch f.Type.Kind() {
			case reflect.String:
				p["type"] = "string"
			case reflect.Int, reflect.Int32, reflect.Int64:
				p["type"] = "integer"
			default:
				t.Fatalf("%s.%s: no JSON Schema type for %s", rt.Name(), f.Name, f.Type)
			}
			if strings.HasSuffix(name, "_fen") {
				p["description"] = "an amount in fen (0.01 yuan)"
			}
			for k, v := range memberRules[name] {
				p[k] = v
			}
			if name == "category" {
				p["const"] = c.Code
			} else {
				l, ok := labels[name]
				if !ok {
					t.Fatalf("category %s: the registry does not list field %s", c.Code, name)
				}
				p["title"], p["x-name-zh"] = l.NameEN, l.NameZH
			}
			props[name] = p
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		doc := map[string]any{
			"$schema":              "https://json-schema.org/draft/2020-12/schema",
			"$id":                  "urn:quanchain:record-schema:" + c.Code + ":v" + itoa(c.SchemaVersion),
			"title":                c.NameEN,
			"x-name-zh":            c.NameZH,
			"x-schema-version":     c.SchemaVersion,
			"type":                 "object",
			"properties":           props,
			"required":             required,
			"additionalProperties": false,
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Schema{Category: c.Code, SchemaVersion: c.SchemaVersion, Document: b})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestCatalogueUpToDate: catalogue.json is what the record types and the
// registry say; -update rewrites it.
func TestCatalogueUpToDate(t *testing.T) {
	want := generate(t)
	if *update {
		if err := os.WriteFile("catalogue.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(catalogueJSON, want) {
		t.Fatal("catalogue.json is stale: go test ./gateway/internal/recordschema -run TestCatalogueUpToDate -update")
	}
}
