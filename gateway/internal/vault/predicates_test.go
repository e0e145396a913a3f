package vault

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// hf returns housing-fund facts of amount fen for months "YYYY-MM".
func hf(amount int64, months ...string) []Fact {
	var fs []Fact
	for _, m := range months {
		fs = append(fs, Fact{Category: synth.HousingFund, Month: m, RecordDate: m + "-15", AmountFen: amount})
	}
	return fs
}

// monthsBack returns the n months before the month of asOf, oldest first.
func monthsBack(asOf string, n int) []string {
	first := date(asOf[:7] + "-01")
	out := make([]string, n)
	for i := range n {
		out[n-1-i] = first.AddDate(0, -(i + 1), 0).Format("2006-01")
	}
	return out
}

func TestDeceasedBefore(t *testing.T) {
	death := []Fact{{Category: synth.DeathRegistration, DeathDate: "2026-03-10", RecordDate: "2026-03-15"}}
	tests := []struct {
		name  string
		facts []Fact
		date  string
		want  bool
	}{
		{"died before", death, "2026-06-01", true},
		{"died the day before", death, "2026-03-11", true},
		{"died that day", death, "2026-03-10", false},
		{"died after", death, "2026-01-01", false},
		{"no registration", hf(100, "2026-01"), "2026-06-01", false},
		{"no records", nil, "2026-06-01", false},
		{"other category with a death date", []Fact{{Category: synth.Tax, DeathDate: "2020-01-01"}}, "2026-06-01", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeceasedBefore(tt.facts, date(tt.date)); got != tt.want {
				t.Errorf("DeceasedBefore(%s) = %v, want %v", tt.date, got, tt.want)
			}
		})
	}
}

func TestHousingFundContributedEachMonth(t *testing.T) {
	const asOf = "2026-11-15"
	full := hf(2000_00, monthsBack(asOf, 12)...)
	gap := append(hf(2000_00, monthsBack(asOf, 12)[:5]...), hf(2000_00, monthsBack(asOf, 12)[6:]...)...)
	split := append(hf(1000_00, monthsBack(asOf, 12)...), hf(1000_00, monthsBack(asOf, 12)...)...)
	tests := []struct {
		name   string
		facts  []Fact
		months int
		min    int64
		want   bool
	}{
		{"every month, enough", full, 12, 2000_00, true},
		{"every month, too little", full, 12, 2000_01, false},
		{"a month missing", gap, 12, 1, false},
		{"gap outside the window", gap, 6, 1, true},
		{"two deposits in a month add up", split, 12, 2000_00, true},
		{"the current month does not count", hf(2000_00, append(monthsBack(asOf, 11), "2026-11")...), 12, 1, false},
		{"longer than the records", full, 13, 1, false},
		{"zero months", full, 0, 1, false},
		{"too many months", full, MaxPredicateMonths + 1, 1, false},
		{"other categories ignored", []Fact{{Category: synth.Tax, Month: "2026-10", AmountFen: 1e9}}, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HousingFundContributedEachMonth(tt.facts, tt.months, date(asOf), tt.min); got != tt.want {
				t.Errorf("HousingFundContributedEachMonth(%d months, min %d) = %v, want %v", tt.months, tt.min, got, tt.want)
			}
		})
	}
}

func TestSocialSecurityContinuous(t *testing.T) {
	const asOf = "2026-01-05" // the window crosses a year: 2025-01 … 2025-12
	ss := func(insurance, status string, months ...string) []Fact {
		var fs []Fact
		for _, m := range months {
			fs = append(fs, Fact{Category: synth.SocialSecurity, Insurance: insurance, Status: status, Month: m})
		}
		return fs
	}
	year := monthsBack(asOf, 12)
	if year[0] != "2025-01" || year[11] != "2025-12" {
		t.Fatalf("monthsBack(%s, 12) = %q, want 2025-01 … 2025-12", asOf, year)
	}
	tests := []struct {
		name      string
		facts     []Fact
		insurance string
		months    int
		want      bool
	}{
		{"continuous pension", ss("pension", "paid", year...), "pension", 12, true},
		{"medical asked, pension held", ss("pension", "paid", year...), "medical", 12, false},
		{"unpaid month", append(ss("pension", "paid", year[1:]...), ss("pension", "owed", year[0])...), "pension", 12, false},
		{"gap", ss("pension", "paid", append(year[:3:3], year[4:]...)...), "pension", 12, false},
		{"short window after the gap", ss("pension", "paid", year[4:]...), "pension", 8, true},
		{"negative months", ss("pension", "paid", year...), "pension", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SocialSecurityContinuous(tt.facts, tt.insurance, tt.months, date(asOf)); got != tt.want {
				t.Errorf("SocialSecurityContinuous(%s, %d months) = %v, want %v", tt.insurance, tt.months, got, tt.want)
			}
		})
	}
}

func TestDecodeFacts(t *testing.T) {
	recs := []store.Record{
		{ID: 1, Body: []byte(`{"category":"death_registration","death_date":"2026-03-10","record_date":"2026-03-15"}`)},
		{ID: 2, Body: []byte(`{"category":"death_registration","death_date":"2020-01-01"}`), Revoked: true},
		{ID: 3, Body: []byte(`{"category":"housing_fund","month":"2026-01","amount_fen":100,"employer":"x"}`)},
	}
	facts, err := DecodeFacts(recs)
	if err != nil {
		t.Fatalf("DecodeFacts: %v", err)
	}
	if len(facts) != 2 {
		t.Fatalf("%d facts, want 2: the revoked record is left out", len(facts))
	}
	if got := facts[0].DeathDate; got != "2026-03-10" {
		t.Errorf("DeathDate = %q, want %q", got, "2026-03-10")
	}
	if got := facts[1].AmountFen; got != 100 {
		t.Errorf("AmountFen = %d, want 100", got)
	}
	if DeceasedBefore(facts, date("2025-01-01")) {
		t.Errorf("DeceasedBefore(2025-01-01) = true, but only the revoked registration was earlier")
	}

	_, err = DecodeFacts([]store.Record{{ID: 7, Body: []byte(`{"amount_fen":"x"}`)}})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeFacts: %v, want %v", err, ErrCorrupt)
	}
	if want := fmt.Sprintf("%v: record 7 does not decode", ErrCorrupt); err.Error() != want {
		t.Errorf("DecodeFacts: %q, want %q", err, want)
	}
}

// The predicates answer questions over generated data as the data says.
func TestPredicatesOverSynthData(t *testing.T) {
	citizens := synth.Citizens(9, 200)
	seq, err := synth.Records(9, citizens, []string{synth.DeathRegistration, synth.HousingFund}, dataFrom, dataTo)
	if err != nil {
		t.Fatalf("synth.Records: %v", err)
	}
	byCitizen := map[string][]store.Record{}
	for r := range seq {
		byCitizen[r.CitizenID] = append(byCitizen[r.CitizenID], store.Record{Category: r.Category, Body: r.Body})
	}
	deceased, contributing := 0, 0
	for _, c := range citizens {
		facts, err := DecodeFacts(byCitizen[c.IDNumber])
		if err != nil {
			t.Fatalf("DecodeFacts: %v", err)
		}
		if DeceasedBefore(facts, dataTo.AddDate(0, 0, 1)) {
			deceased++
			var death string
			for _, f := range facts {
				if f.Category == synth.DeathRegistration {
					death = f.DeathDate
				}
			}
			if !DeceasedBefore(facts, date(death).AddDate(0, 0, 1)) {
				t.Errorf("%s: not deceased before the day after the death on %s", c.IDNumber, death)
			}
			if DeceasedBefore(facts, date(death)) {
				t.Errorf("%s: deceased before the day of the death, %s", c.IDNumber, death)
			}
			for _, f := range facts {
				if f.Category == synth.HousingFund && f.RecordDate >= death {
					t.Errorf("%s: a contribution on %s, after the death on %s", c.IDNumber, f.RecordDate, death)
				}
			}
		}
		if HousingFundContributedEachMonth(facts, 12, dataTo.AddDate(0, 0, 1), 1) {
			contributing++
		}
	}
	if deceased == 0 {
		t.Errorf("no citizen deceased in the generated data")
	}
	if contributing == 0 {
		t.Errorf("no citizen contributing in the generated data")
	}
}
