package vault

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// Minimal answers (最少必要): where a yes/no suffices, the provider answers a
// predicate over the citizen's records and delivers only the answer. The
// predicates are pure functions over decoded records ([Fact]s).

// Predicate codes, as recorded in the access on the ledger.
const (
	PredicateDeceasedBefore           = "DECEASED_BEFORE"
	PredicateHousingFundEachMonth     = "HOUSING_FUND_EACH_MONTH"
	PredicateSocialSecurityContinuous = "SOCIAL_SECURITY_CONTINUOUS"
)

// MaxPredicateMonths bounds the months a predicate looks back.
const MaxPredicateMonths = 120

// Fact is the part of a record the predicates read. Members a category
// does not have are left empty.
type Fact struct {
	Category   string `json:"category"`
	RecordDate string `json:"record_date"`
	Month      string `json:"month"`      // YYYY-MM, monthly categories
	AmountFen  int64  `json:"amount_fen"` // housing fund: the month's deposit
	Insurance  string `json:"insurance"`  // social security: pension or medical
	Status     string `json:"status"`     // social security: paid
	DeathDate  string `json:"death_date"` // death registration
}

// DecodeFacts decodes the predicates' view of records. Revoked records are
// left out: a withdrawn record answers nothing.
func DecodeFacts(records []store.Record) ([]Fact, error) {
	facts := make([]Fact, 0, len(records))
	for _, r := range records {
		if r.Revoked {
			continue
		}
		var f Fact
		if err := json.Unmarshal(r.Body, &f); err != nil {
			return nil, fmt.Errorf("%w: record %d does not decode", ErrCorrupt, r.ID)
		}
		facts = append(facts, f)
	}
	return facts, nil
}

// DeceasedBefore reports whether a death registration records a death on a
// day strictly before date.
func DeceasedBefore(facts []Fact, date time.Time) bool {
	limit := date.Format(time.DateOnly)
	for _, f := range facts {
		if f.Category == model.CategoryDeathRegistration && f.DeathDate != "" && f.DeathDate < limit {
			return true
		}
	}
	return false
}

// lastMonths returns the months complete calendar months before the month
// of asOf, as YYYY-MM, or nil if months is not in 1..MaxPredicateMonths.
// For asOf in November 2026 and months 12: 2025-11 … 2026-10.
func lastMonths(months int, asOf time.Time) []string {
	if months < 1 || months > MaxPredicateMonths {
		return nil
	}
	first := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, months)
	for i := range months {
		out[i] = first.AddDate(0, -(i + 1), 0).Format("2006-01")
	}
	return out
}

// HousingFundContributedEachMonth reports whether, in each of the months
// complete calendar months before the month of asOf, housing-fund deposits
// totalling at least minAmountFen were made. It is false for months
// outside 1..MaxPredicateMonths.
func HousingFundContributedEachMonth(facts []Fact, months int, asOf time.Time, minAmountFen int64) bool {
	want := lastMonths(months, asOf)
	if want == nil {
		return false
	}
	paid := map[string]int64{}
	for _, f := range facts {
		if f.Category == model.CategoryHousingFund {
			paid[f.Month] += f.AmountFen
		}
	}
	for _, m := range want {
		if amount, ok := paid[m]; !ok || amount < minAmountFen {
			return false
		}
	}
	return true
}

// SocialSecurityContinuous reports whether a paid contribution to the given
// insurance ("pension" or "medical") is recorded for each of the months
// complete calendar months before the month of asOf, without a gap. It is
// false for months outside 1..MaxPredicateMonths.
func SocialSecurityContinuous(facts []Fact, insurance string, months int, asOf time.Time) bool {
	want := lastMonths(months, asOf)
	if want == nil {
		return false
	}
	paid := map[string]bool{}
	for _, f := range facts {
		if f.Category == model.CategorySocialSecurity && f.Insurance == insurance && f.Status == "paid" {
			paid[f.Month] = true
		}
	}
	for _, m := range want {
		if !paid[m] {
			return false
		}
	}
	return true
}
