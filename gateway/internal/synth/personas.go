package synth

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Persona is a named test citizen: synthetic, with a fixed ID number (valid
// GB 11643-1999 check character, registered in Jinan), a fixed name and
// phone, and records of exactly the listed categories in any window of at
// least a year. Personas are test data — no real person — for the demo and
// for integrators who need a citizen with death registration, vehicles or
// a business licence: the random population has these only by chance.
// docs/personas.md lists them (TestPersonasDocumented).
type Persona struct {
	Citizen
	Role       string   // what the persona is for, in a few words
	Categories []string // the categories the persona holds records of, in catalogue order
}

// personas are the fixed test citizens.
var personas = []Persona{
	{Citizen: Citizen{IDNumber: "370102198603120115", Name: "张伟", Phone: "13900000001", BirthDate: "1986-03-12"},
		Role:       "loan applicant: salaried, owns a flat, runs a shop on the side",
		Categories: []string{HousingFund, SocialSecurity, Tax, RealEstate, ELicence}},
	{Citizen: Citizen{IDNumber: "370103199007080226", Name: "李娜", Phone: "13900000002", BirthDate: "1990-07-08"},
		Role:       "motor and health claimant: salaried, one car with traffic violations, hospital visits",
		Categories: []string{HousingFund, SocialSecurity, Tax, MedicalSettlement, VehicleRegistration, TrafficCredit}},
	{Citizen: Citizen{IDNumber: "370112196211200339", Name: "王建国", Phone: "13900000003", BirthDate: "1962-11-20"},
		Role:       "deceased policyholder: retired, treated in hospital, died three quarters into the window",
		Categories: []string{RealEstate, MedicalSettlement, VehicleRegistration, TrafficCredit, DeathRegistration}},
	{Citizen: Citizen{IDNumber: "370105199501150448", Name: "陈静", Phone: "13900000004", BirthDate: "1995-01-15"},
		Role:       "no records at all: every category answers “no data”",
		Categories: []string{}},
}

// Personas returns the fixed test citizens.
func Personas() []Persona {
	out := slices.Clone(personas)
	for i := range out {
		out[i].Categories = slices.Clone(out[i].Categories)
	}
	return out
}

// PersonaCitizens returns the personas as citizens, for Records and for
// the demo's citizen list.
func PersonaCitizens() []Citizen {
	out := make([]Citizen, len(personas))
	for i, p := range personas {
		out[i] = p.Citizen
	}
	return out
}

// personaOf returns the persona with an ID number, if any.
func personaOf(idNumber string) *Persona {
	for i := range personas {
		if personas[i].IDNumber == idNumber {
			return &personas[i]
		}
	}
	return nil
}

// holds reports whether the persona holds records of category.
func (p *Persona) holds(category string) bool { return slices.Contains(p.Categories, category) }

// count is the number of records of an event category a persona's
// generator makes, from the drawn n: at least one if it holds the
// category, none otherwise.
func (p *Persona) count(category string, n int) int {
	if !p.holds(category) {
		return 0
	}
	return max(n, 1)
}

// applyPersona fixes what a persona's profile says, over what was drawn:
// employed from the window's start without gaps, or not employed; dead
// three quarters into the window, or alive; one car registered a quarter
// into it, or none.
func (p *profile) applyPersona(rng *rand.Rand, ps *Persona, w window) {
	p.persona = ps
	days := int(w.to.Sub(w.from).Hours() / 24)
	p.gaps = map[string]bool{}
	p.employer = ""
	if ps.holds(HousingFund) {
		p.employer, p.salaryFen, p.hfRate = employers[0], 12_000_00, 10
		p.employedAt = monthStart(w.from)
	}
	p.death = time.Time{}
	if ps.holds(DeathRegistration) {
		p.death = w.from.AddDate(0, 0, days*3/4)
	}
	p.vehicles = nil
	if ps.holds(VehicleRegistration) {
		v := newVehicle(rng, w)
		v.registered = w.from.AddDate(0, 0, days/4)
		p.vehicles = []vehicle{v}
	}
}

// lastAlive is the last day of the window the citizen is alive on.
func (p *profile) lastAlive(w window) time.Time {
	if !p.death.IsZero() && !p.death.After(w.to) {
		return p.death.AddDate(0, 0, -1)
	}
	return w.to
}
