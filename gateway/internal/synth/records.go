package synth

import (
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/resident"
)

// Data categories, as registered on the ledger (the standard catalogue's,
// model.Category…).
const (
	HousingFund         = model.CategoryHousingFund
	SocialSecurity      = model.CategorySocialSecurity
	Tax                 = model.CategoryTax
	RealEstate          = model.CategoryRealEstate
	MedicalSettlement   = model.CategoryMedicalSettlement
	VehicleRegistration = model.CategoryVehicleRegistration
	TrafficCredit       = model.CategoryTrafficCredit
	DeathRegistration   = model.CategoryDeathRegistration
	ELicence            = model.CategoryELicence
)

// Categories returns every category the generator produces, in a fixed
// order: the standard catalogue's.
func Categories() []string { return model.StandardCategories() }

// Record is one generated record.
//
// Body is the record as canonical JSON: an object whose members are sorted
// by key, without white space, encoded as encoding/json encodes a struct
// (whose fields are declared in key order). Every body has the members
// "category", "citizen_id" (the ID number: provider-side data that never
// goes to the ledger) and "record_date" (YYYY-MM-DD), and the category's
// own fields. Amounts are integers in fen (0.01 yuan), so no floating point
// number appears.
type Record struct {
	Category   string
	CitizenID  string
	RecordDate string
	Body       []byte
}

// generator emits one category's records for a citizen, in date order.
// emit returns false when the consumer wants no more.
type generator func(rng *rand.Rand, p *profile, w window, emit func(v dated) bool) bool

// dated is a record struct that knows its record date.
type dated interface{ date() string }

var generators = map[string]generator{
	HousingFund:         genHousingFund,
	SocialSecurity:      genSocialSecurity,
	Tax:                 genTax,
	RealEstate:          genRealEstate,
	MedicalSettlement:   genMedicalSettlement,
	VehicleRegistration: genVehicleRegistration,
	TrafficCredit:       genTrafficCredit,
	DeathRegistration:   genDeathRegistration,
	ELicence:            genELicence,
}

// window is the inclusive range of record dates asked for.
type window struct{ from, to time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// randomDay returns a day drawn uniformly from [from, to].
func randomDay(rng *rand.Rand, from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	if days <= 0 {
		return from
	}
	return from.AddDate(0, 0, rng.IntN(days+1))
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// Records returns the records of the given categories (all if none) for
// each citizen with record dates in [from, to] (dates only; the time of day
// is ignored), citizen by citizen, category by category in the order given,
// each in date order. The sequence is the same on every call with the same
// arguments; the records of a citizen and category do not depend on the
// other citizens or categories asked for. It returns an error for an
// unknown category or from after to.
func Records(seed int64, citizens []Citizen, categories []string, from, to time.Time) (iter.Seq[Record], error) {
	if len(categories) == 0 {
		categories = Categories()
	}
	for _, c := range categories {
		if generators[c] == nil {
			return nil, fmt.Errorf("synth: unknown category %q", c)
		}
	}
	w := window{day(from), day(to)}
	if w.to.Before(w.from) {
		return nil, fmt.Errorf("synth: from %s is after to %s", w.from.Format(time.DateOnly), w.to.Format(time.DateOnly))
	}
	categories = slices.Clone(categories)
	citizens = slices.Clone(citizens)
	return func(yield func(Record) bool) {
		for _, c := range citizens {
			p := newProfile(seed, c, w)
			for _, category := range categories {
				rng := newRand(seed, "records", c.IDNumber, category)
				ok := generators[category](rng, p, w, func(v dated) bool {
					body, err := json.Marshal(v)
					if err != nil {
						panic(fmt.Sprintf("synth: marshal %T: %v", v, err)) // a bug: every field is marshalable
					}
					return yield(Record{Category: category, CitizenID: c.IDNumber, RecordDate: v.date(), Body: body})
				})
				if !ok {
					return
				}
			}
		}
	}, nil
}

// profile is what several categories share about a citizen: employment,
// vehicles, death. It is drawn from its own stream, so it is the same
// whichever categories are generated.
type profile struct {
	c          Citizen
	birth      time.Time
	female     bool
	district   District
	death      time.Time // zero if alive at the end of the window
	employer   string    // "" if not employed in the window
	salaryFen  int64     // monthly gross salary
	hfRate     int64     // housing-fund rate, percent, paid by each side
	employedAt time.Time // first month employed
	gaps       map[string]bool
	vehicles   []vehicle
	persona    *Persona // nil for a citizen of the random population
}

type vehicle struct {
	plate, vin, brand, kind string
	registered              time.Time
}

func newProfile(seed int64, c Citizen, w window) *profile {
	rng := newRand(seed, "profile", c.IDNumber)
	p := &profile{c: c, female: resident.Female(c.IDNumber), gaps: map[string]bool{}}
	p.birth, _ = time.Parse(time.DateOnly, c.BirthDate)
	p.district = JinanDistricts()[0]
	for _, d := range JinanDistricts() {
		if len(c.IDNumber) >= 6 && d.Code == c.IDNumber[:6] {
			p.district = d
		}
	}
	if rng.IntN(100) < 3 {
		p.death = randomDay(rng, w.from, w.to)
	}
	if rng.IntN(100) < 85 {
		p.employer = employers[rng.IntN(len(employers))]
		p.salaryFen = int64(4000+rng.IntN(21000)) * 100
		p.hfRate = int64(5 + rng.IntN(8))
		p.employedAt = monthStart(w.from)
		if rng.IntN(100) < 20 {
			p.employedAt = monthStart(randomDay(rng, w.from, w.to))
		}
		if rng.IntN(100) < 10 {
			for range 1 + rng.IntN(3) {
				p.gaps[randomDay(rng, w.from, w.to).Format("2006-01")] = true
			}
		}
	}
	n := 0
	switch r := rng.IntN(100); {
	case r < 10:
		n = 2
	case r < 55:
		n = 1
	}
	for range n {
		p.vehicles = append(p.vehicles, newVehicle(rng, w))
	}
	if ps := personaOf(c.IDNumber); ps != nil {
		p.applyPersona(rng, ps, w)
	}
	return p
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// alive reports whether the citizen is alive on day t.
func (p *profile) alive(t time.Time) bool { return p.death.IsZero() || t.Before(p.death) }

// contributes reports whether the citizen is employed and contributing in
// the month starting at m: employed, before retirement age (60 for men, 55
// for women), not in a gap month, alive.
func (p *profile) contributes(m time.Time) bool {
	retire := 60
	if p.female {
		retire = 55
	}
	return p.employer != "" && !m.Before(p.employedAt) && m.Before(p.birth.AddDate(retire, 0, 0)) &&
		!p.gaps[m.Format("2006-01")] && p.alive(m)
}

// eachMonth calls fn for each month whose day dayOfMonth lies in the window
// and on which the citizen contributes, with that day; it stops when fn
// returns false.
func (p *profile) eachMonth(w window, dayOfMonth int, fn func(m, d time.Time) bool) bool {
	for m := monthStart(w.from); !m.After(w.to); m = m.AddDate(0, 1, 0) {
		d := m.AddDate(0, 0, dayOfMonth-1)
		if !w.contains(d) || !p.contributes(m) || !p.alive(d) {
			continue
		}
		if !fn(m, d) {
			return false
		}
	}
	return true
}
