package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/internal/resident"
)

var (
	testFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testTo   = time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
)

func collect(t testing.TB, seed int64, citizens []Citizen, categories []string) []Record {
	t.Helper()
	seq, err := Records(seed, citizens, categories, testFrom, testTo)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	return slices.Collect(seq)
}

func TestCitizens(t *testing.T) {
	cs := Citizens(7, 500)
	if len(cs) != 500 {
		t.Fatalf("len(cs) = %d, want %d", len(cs), 500)
	}
	phone := regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	jinan := map[string]bool{}
	for _, d := range JinanDistricts() {
		jinan[d.Code] = true
	}
	ids, phones := map[string]bool{}, map[string]bool{}
	now := time.Now()
	for _, c := range cs {
		if err := resident.Valid(c.IDNumber, now); err != nil {
			t.Fatalf("Valid: %v", err)
		}
		if !jinan[c.IDNumber[:6]] {
			t.Errorf("region %s is not in Jinan", c.IDNumber[:6])
		}
		if got := resident.BirthDate(c.IDNumber); got != c.BirthDate {
			t.Errorf("resident.BirthDate(c.IDNumber) = %v, want %v", got, c.BirthDate)
		}
		if !phone.MatchString(c.Phone) {
			t.Errorf("phone %q", c.Phone)
		}
		if len([]rune(c.Name)) < 2 {
			t.Errorf("name %q is shorter than two characters", c.Name)
		}
		ids[c.IDNumber], phones[c.Phone] = true, true
	}
	if len(ids) != 500 {
		t.Errorf("ID numbers are distinct: len(ids) = %d, want %d", len(ids), 500)
	}
	if len(phones) != 500 {
		t.Errorf("phones are distinct: len(phones) = %d, want %d", len(phones), 500)
	}
}

func TestCitizensDeterministic(t *testing.T) {
	a, b := Citizens(42, 200), Citizens(42, 200)
	if !reflect.DeepEqual(b, a) {
		t.Errorf("b = %+v, want %+v", b, a)
	}
	if got := Citizens(42, 50); !reflect.DeepEqual(got, a[:50]) {
		t.Errorf("a prefix does not depend on n: got %+v, want %+v", got, a[:50])
	}
	if got := Citizens(43, 10); reflect.DeepEqual(got, a[:10]) {
		t.Errorf("Citizens(43, 10) = %+v, want anything else", got)
	}
	// Pinned: the generator's output is part of the demo and benchmark
	// data sets; a change must be deliberate.
	if a[0] != (Citizen{IDNumber: "370112199904060758", Name: "刘子轩", Phone: "17974539790", BirthDate: "1999-04-06"}) {
		t.Errorf("a[0] = %v, want %v", a[0], Citizen{IDNumber: "370112199904060758", Name: "刘子轩", Phone: "17974539790", BirthDate: "1999-04-06"})
	}
}

func TestRecordsEveryCategory(t *testing.T) {
	cs := Citizens(1, 50)
	recs := collect(t, 1, cs, nil)
	counts := map[string]int{}
	from, to := testFrom.Format(time.DateOnly), testTo.Format(time.DateOnly)
	for _, r := range recs {
		counts[r.Category]++
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if m["category"] != r.Category {
			t.Errorf(`m["category"] = %v, want %v`, m["category"], r.Category)
		}
		if m["citizen_id"] != r.CitizenID {
			t.Errorf(`m["citizen_id"] = %v, want %v`, m["citizen_id"], r.CitizenID)
		}
		if m["record_date"] != r.RecordDate {
			t.Errorf(`m["record_date"] = %v, want %v`, m["record_date"], r.RecordDate)
		}
		if !(r.RecordDate >= from && r.RecordDate <= to) {
			t.Errorf("date %s out of range", r.RecordDate)
		}
		// Canonical: re-encoding (map keys sorted) gives the same bytes.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if got, want := string(r.Body), string(again); got != want {
			t.Fatalf("string(r.Body) = %v, want %v", got, want)
		}
	}
	for _, c := range Categories() {
		if counts[c] == 0 {
			t.Errorf("no %s records", c)
		}
	}
	t.Logf("50 citizens, %d records: %v", len(recs), counts)
}

func TestRecordsDeterministic(t *testing.T) {
	cs := Citizens(3, 30)
	digest := func(recs []Record) [32]byte {
		h := sha256.New()
		for _, r := range recs {
			h.Write(r.Body)
			h.Write([]byte{'\n'})
		}
		return [32]byte(h.Sum(nil))
	}
	all := collect(t, 3, cs, nil)
	if got, want := digest(collect(t, 3, cs, nil)), digest(all); got != want {
		t.Errorf("same seed, same bytes: got %v, want %v", got, want)
	}
	if got, want := digest(collect(t, 4, cs, nil)), digest(all); got == want {
		t.Errorf("digest(collect(t, 4, cs, nil)) = %v, want anything else", got)
	}

	// A category's records do not depend on the other categories or
	// citizens asked for.
	var want []Record
	for _, r := range all {
		if r.Category == MedicalSettlement && r.CitizenID == cs[5].IDNumber {
			want = append(want, r)
		}
	}
	if got := collect(t, 3, cs[5:6], []string{MedicalSettlement}); !reflect.DeepEqual(got, want) {
		t.Errorf("collect(t, 3, cs[5:6], []string{MedicalSettlement}) = %+v, want %+v", got, want)
	}
}

func TestRecordsFacts(t *testing.T) {
	recs := collect(t, 9, Citizens(9, 200), nil)
	dead := map[string]string{}
	for _, r := range recs {
		if r.Category == DeathRegistration {
			var d DeathRegistrationRecord
			if err := json.Unmarshal(r.Body, &d); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			dead[r.CitizenID] = d.DeathDate
		}
	}
	if len(dead) == 0 {
		t.Fatal("no citizen is deceased")
	}
	for _, r := range recs {
		switch r.Category {
		case HousingFund, SocialSecurity, Tax:
			if d, ok := dead[r.CitizenID]; ok {
				if r.RecordDate >= d {
					t.Errorf("%s record of %s on %s, after their death on %s", r.Category, r.CitizenID, r.RecordDate, d)
				}
			}
		case VehicleRegistration:
			var v VehicleRegistrationRecord
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if got, want := v.VIN[8], VINCheckDigit(v.VIN); got != want {
				t.Errorf("v.VIN[8] = %v, want %v", got, want)
			}
			if !strings.HasPrefix(v.Plate, "鲁A") {
				t.Error(`strings.HasPrefix(v.Plate, "鲁A") = false, want true`)
			}
		case ELicence:
			var e ELicenceRecord
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if got, want := e.CreditCode[17], CreditCodeCheckChar(e.CreditCode[:17]); got != want {
				t.Errorf("e.CreditCode[17] = %v, want %v", got, want)
			}
		}
	}
}

func TestRecordsErrorsAndStop(t *testing.T) {
	_, err := Records(1, nil, []string{"passport"}, testFrom, testTo)
	if err == nil || !strings.Contains(err.Error(), "unknown category") {
		t.Errorf("Records: %v, want an error containing %q", err, "unknown category")
	}
	_, err = Records(1, nil, nil, testTo, testFrom)
	if err == nil {
		t.Error("Records: got no error")
	}
	seq, err := Records(1, Citizens(1, 10), nil, testFrom, testTo)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	n := 0
	for range seq {
		n++
		if n == 5 {
			break
		}
	}
	if n != 5 {
		t.Errorf("n = %v, want %v", n, 5)
	}
}

func TestCheckCharacters(t *testing.T) {
	if got, want := VINCheckDigit("1M8GDM9AXKP042788"), byte('X'); got != want {
		t.Errorf("the classic published VIN: got %v, want %v", got, want)
	}
	if got, want := CreditCodeCheckChar("91350100M000100Y4"), byte('3'); got != want {
		t.Errorf("GB 32100-2015 example: got %v, want %v", got, want)
	}
	if got, want := CreditCodeCheckChar("91350100M000100I4"), byte(0); got != want {
		t.Errorf("I is not a code character: got %v, want %v", got, want)
	}
}

func TestWriteJSONL(t *testing.T) {
	cs := Citizens(5, 3)
	seq, err := Records(5, cs, []string{Tax}, testFrom, testTo)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	var buf bytes.Buffer
	n, err := WriteJSONL(&buf, seq)
	if err != nil {
		t.Fatalf("WriteJSONL: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("len(lines) = %d, want %d", len(lines), n)
	}
	recs := collect(t, 5, cs, []string{Tax})
	for i, r := range recs {
		if got, want := lines[i], string(r.Body); got != want {
			t.Errorf("lines[i] = %v, want %v", got, want)
		}
	}

	buf.Reset()
	if err := WriteCitizensJSONL(&buf, cs); err != nil {
		t.Fatalf("WriteCitizensJSONL: %v", err)
	}
	var c Citizen
	if err := json.Unmarshal([]byte(strings.SplitN(buf.String(), "\n", 2)[0]), &c); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if c != cs[0] {
		t.Errorf("c = %v, want %v", c, cs[0])
	}
}

func BenchmarkCitizens10k(b *testing.B) {
	for b.Loop() {
		if len(Citizens(1, 10_000)) != 10_000 {
			b.Fatal("short")
		}
	}
}

// BenchmarkRecords10kCitizens generates every category's records of 10k
// citizens over 34 months and reports records per second.
func BenchmarkRecords10kCitizens(b *testing.B) {
	cs := Citizens(1, 10_000)
	n := 0
	for b.Loop() {
		seq, err := Records(1, cs, nil, testFrom, testTo)
		if err != nil {
			b.Fatal(err)
		}
		for r := range seq {
			n += len(r.Body) & 1
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
