package synth

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/internal/resident"
)

// TestPersonasHoldTheirCategories: each persona holds records of exactly
// its listed categories, whatever the seed, in the demo's two-year window
// and in a one-year window; together they hold every category.
func TestPersonasHoldTheirCategories(t *testing.T) {
	to := time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)
	covered := map[string]bool{}
	for _, seed := range []int64{20261128, 1, 42} {
		for _, from := range []time.Time{to.AddDate(-2, 0, 1), to.AddDate(-1, 0, 1)} {
			recs, err := Records(seed, PersonaCitizens(), nil, from, to)
			if err != nil {
				t.Fatal(err)
			}
			held := map[string][]string{}
			for r := range recs {
				if !slices.Contains(held[r.CitizenID], r.Category) {
					held[r.CitizenID] = append(held[r.CitizenID], r.Category)
				}
			}
			for _, p := range Personas() {
				got := held[p.IDNumber]
				if got == nil {
					got = []string{}
				}
				if !slices.Equal(got, p.Categories) {
					t.Errorf("seed %d from %s: %s holds %v, listed %v", seed, from.Format(time.DateOnly), p.Name, got, p.Categories)
				}
				for _, c := range got {
					covered[c] = true
				}
			}
		}
	}
	for _, c := range Categories() {
		if !covered[c] {
			t.Errorf("no persona holds %s", c)
		}
	}
}

// TestPersonaIdentities: valid ID numbers whose birth date and sex agree
// with the persona, distinct, and none drawn by the demo's population.
func TestPersonaIdentities(t *testing.T) {
	demo := map[string]bool{}
	for _, c := range Citizens(20261128, 500) {
		demo[c.IDNumber], demo[c.Phone] = true, true
	}
	seen := map[string]bool{}
	for _, p := range Personas() {
		if err := resident.Valid(p.IDNumber, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if resident.BirthDate(p.IDNumber) != p.BirthDate {
			t.Errorf("%s: born %s, ID number says %s", p.Name, p.BirthDate, resident.BirthDate(p.IDNumber))
		}
		if seen[p.IDNumber] || seen[p.Phone] || demo[p.IDNumber] || demo[p.Phone] {
			t.Errorf("%s: ID number or phone not unique", p.Name)
		}
		seen[p.IDNumber], seen[p.Phone] = true, true
	}
}

// TestPersonasDocumented: docs/personas.md names each persona with its ID
// number and categories on one table row.
func TestPersonasDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../docs/personas.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range Personas() {
			if strings.HasPrefix(l, "|") && strings.Contains(l, p.IDNumber) {
				rows[p.IDNumber] = l
			}
		}
	}
	for _, p := range Personas() {
		row, ok := rows[p.IDNumber]
		if !ok || !strings.Contains(row, p.Name) || !strings.Contains(row, p.Phone) {
			t.Errorf("docs/personas.md: no row with %s, %s and %s", p.Name, p.IDNumber, p.Phone)
			continue
		}
		for _, c := range Categories() {
			if listed := strings.Contains(row, "`"+c+"`"); listed != slices.Contains(p.Categories, c) {
				t.Errorf("docs/personas.md: %s's row lists %s: %v, persona holds it: %v", p.Name, c, listed, !listed)
			}
		}
	}
}
