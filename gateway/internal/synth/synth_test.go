package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/internal/resident"
)

var (
	testFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testTo   = time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
)

func collect(t testing.TB, seed int64, citizens []Citizen, categories []string) []Record {
	t.Helper()
	seq, err := Records(seed, citizens, categories, testFrom, testTo)
	require.NoError(t, err)
	return slices.Collect(seq)
}

func TestCitizens(t *testing.T) {
	cs := Citizens(7, 500)
	require.Len(t, cs, 500)
	phone := regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	jinan := map[string]bool{}
	for _, d := range JinanDistricts() {
		jinan[d.Code] = true
	}
	ids, phones := map[string]bool{}, map[string]bool{}
	now := time.Now()
	for _, c := range cs {
		require.NoError(t, resident.Valid(c.IDNumber, now))
		assert.True(t, jinan[c.IDNumber[:6]], "region %s is in Jinan", c.IDNumber[:6])
		assert.Equal(t, c.BirthDate, resident.BirthDate(c.IDNumber))
		assert.Regexp(t, phone, c.Phone)
		assert.GreaterOrEqual(t, len([]rune(c.Name)), 2)
		ids[c.IDNumber], phones[c.Phone] = true, true
	}
	assert.Len(t, ids, 500, "ID numbers are distinct")
	assert.Len(t, phones, 500, "phones are distinct")
}

func TestCitizensDeterministic(t *testing.T) {
	a, b := Citizens(42, 200), Citizens(42, 200)
	assert.Equal(t, a, b)
	assert.Equal(t, a[:50], Citizens(42, 50), "a prefix does not depend on n")
	assert.NotEqual(t, a[:10], Citizens(43, 10))
	// Pinned: the generator's output is part of the demo and benchmark
	// data sets; a change must be deliberate.
	assert.Equal(t, Citizen{IDNumber: "370112199904060758", Name: "刘子轩", Phone: "17974539790", BirthDate: "1999-04-06"}, a[0])
}

func TestRecordsEveryCategory(t *testing.T) {
	cs := Citizens(1, 50)
	recs := collect(t, 1, cs, nil)
	counts := map[string]int{}
	from, to := testFrom.Format(time.DateOnly), testTo.Format(time.DateOnly)
	for _, r := range recs {
		counts[r.Category]++
		var m map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &m))
		assert.Equal(t, r.Category, m["category"])
		assert.Equal(t, r.CitizenID, m["citizen_id"])
		assert.Equal(t, r.RecordDate, m["record_date"])
		assert.True(t, r.RecordDate >= from && r.RecordDate <= to, "date %s in range", r.RecordDate)
		// Canonical: re-encoding (map keys sorted) gives the same bytes.
		again, err := json.Marshal(m)
		require.NoError(t, err)
		require.Equal(t, string(again), string(r.Body))
	}
	for _, c := range Categories() {
		assert.Positive(t, counts[c], "category %s generated", c)
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
	assert.Equal(t, digest(all), digest(collect(t, 3, cs, nil)), "same seed, same bytes")
	assert.NotEqual(t, digest(all), digest(collect(t, 4, cs, nil)))

	// A category's records do not depend on the other categories or
	// citizens asked for.
	var want []Record
	for _, r := range all {
		if r.Category == MedicalSettlement && r.CitizenID == cs[5].IDNumber {
			want = append(want, r)
		}
	}
	assert.Equal(t, want, collect(t, 3, cs[5:6], []string{MedicalSettlement}))
}

func TestRecordsFacts(t *testing.T) {
	recs := collect(t, 9, Citizens(9, 200), nil)
	dead := map[string]string{}
	for _, r := range recs {
		if r.Category == DeathRegistration {
			var d DeathRegistrationRecord
			require.NoError(t, json.Unmarshal(r.Body, &d))
			dead[r.CitizenID] = d.DeathDate
		}
	}
	require.NotEmpty(t, dead, "some citizens are deceased")
	for _, r := range recs {
		switch r.Category {
		case HousingFund, SocialSecurity, Tax:
			if d, ok := dead[r.CitizenID]; ok {
				assert.Less(t, r.RecordDate, d, "no contribution after death")
			}
		case VehicleRegistration:
			var v VehicleRegistrationRecord
			require.NoError(t, json.Unmarshal(r.Body, &v))
			assert.Equal(t, VINCheckDigit(v.VIN), v.VIN[8])
			assert.True(t, strings.HasPrefix(v.Plate, "鲁A"))
		case ELicence:
			var e ELicenceRecord
			require.NoError(t, json.Unmarshal(r.Body, &e))
			assert.Equal(t, CreditCodeCheckChar(e.CreditCode[:17]), e.CreditCode[17])
		}
	}
}

func TestRecordsErrorsAndStop(t *testing.T) {
	_, err := Records(1, nil, []string{"passport"}, testFrom, testTo)
	assert.ErrorContains(t, err, "unknown category")
	_, err = Records(1, nil, nil, testTo, testFrom)
	assert.Error(t, err)
	seq, err := Records(1, Citizens(1, 10), nil, testFrom, testTo)
	require.NoError(t, err)
	n := 0
	for range seq {
		n++
		if n == 5 {
			break
		}
	}
	assert.Equal(t, 5, n)
}

func TestCheckCharacters(t *testing.T) {
	assert.Equal(t, byte('X'), VINCheckDigit("1M8GDM9AXKP042788"), "the classic published VIN")
	assert.Equal(t, byte('3'), CreditCodeCheckChar("91350100M000100Y4"), "GB 32100-2015 example")
	assert.Equal(t, byte(0), CreditCodeCheckChar("91350100M000100I4"), "I is not a code character")
}

func TestWriteJSONL(t *testing.T) {
	cs := Citizens(5, 3)
	seq, err := Records(5, cs, []string{Tax}, testFrom, testTo)
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := WriteJSONL(&buf, seq)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, n)
	recs := collect(t, 5, cs, []string{Tax})
	for i, r := range recs {
		assert.Equal(t, string(r.Body), lines[i])
	}

	buf.Reset()
	require.NoError(t, WriteCitizensJSONL(&buf, cs))
	var c Citizen
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(buf.String(), "\n", 2)[0]), &c))
	assert.Equal(t, cs[0], c)
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
