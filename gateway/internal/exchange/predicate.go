package exchange

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// Minimal answers (最少必要): the predicates a requester may ask instead of
// the records, each answered from one category. Parameters are strings,
// so what the answer states is recorded exactly as asked:
//
//	DECEASED_BEFORE             {date}: a death registered with a death date before date
//	HOUSING_FUND_EACH_MONTH     {months, as_of, min_amount}: housing-fund deposits of at least
//	                            min_amount fen in each of the months calendar months before as_of's month
//	SOCIAL_SECURITY_CONTINUOUS  {insurance, months, as_of}: a paid pension or medical contribution in
//	                            each of the months calendar months before as_of's month
//
// Only records within the authorised data range are read, so a monthly
// window must lie within it.
type predicate struct {
	code     string
	category string
	params   map[string]string
	date     time.Time // DECEASED_BEFORE
	months   int
	asOf     time.Time
	minFen   int64
	ins      string
}

var (
	monthsPattern = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
	amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})$`)
)

// predicateParams are the parameters each predicate takes, all required.
var predicateParams = map[string][]string{
	vault.PredicateDeceasedBefore:           {"date"},
	vault.PredicateHousingFundEachMonth:     {"as_of", "min_amount", "months"},
	vault.PredicateSocialSecurityContinuous: {"as_of", "insurance", "months"},
}

// parsePredicate validates a predicate query.
func parsePredicate(q *PredicateQuery) (*predicate, error) {
	bad := func(format string, args ...any) error {
		return refuse(CodeInvalidArgument, format, args...)
	}
	want, ok := predicateParams[q.Code]
	if !ok {
		return nil, bad("predicate.code must be one of DECEASED_BEFORE, HOUSING_FUND_EACH_MONTH, SOCIAL_SECURITY_CONTINUOUS")
	}
	if got := slices.Sorted(maps.Keys(q.Params)); !slices.Equal(got, want) {
		return nil, bad("predicate %s takes exactly the params %v", q.Code, want)
	}
	p := &predicate{code: q.Code, params: maps.Clone(q.Params)}
	date := func(name string) (time.Time, error) {
		d, err := time.Parse(time.DateOnly, q.Params[name])
		if err != nil || d.Format(time.DateOnly) != q.Params[name] {
			return time.Time{}, bad("predicate param %s must be a date (YYYY-MM-DD)", name)
		}
		return d, nil
	}
	var err error
	switch q.Code {
	case vault.PredicateDeceasedBefore:
		p.category = model.CategoryDeathRegistration
		if p.date, err = date("date"); err != nil {
			return nil, err
		}
		return p, nil
	case vault.PredicateHousingFundEachMonth:
		p.category = model.CategoryHousingFund
		if !amountPattern.MatchString(q.Params["min_amount"]) {
			return nil, bad("predicate param min_amount must be a whole number of fen")
		}
		p.minFen, _ = strconv.ParseInt(q.Params["min_amount"], 10, 64)
	case vault.PredicateSocialSecurityContinuous:
		p.category = model.CategorySocialSecurity
		p.ins = q.Params["insurance"]
		if p.ins != "pension" && p.ins != "medical" {
			return nil, bad("predicate param insurance must be pension or medical")
		}
	}
	if !monthsPattern.MatchString(q.Params["months"]) {
		return nil, bad("predicate param months must be 1–%d", vault.MaxPredicateMonths)
	}
	p.months, _ = strconv.Atoi(q.Params["months"])
	if p.months > vault.MaxPredicateMonths {
		return nil, bad("predicate param months must be 1–%d", vault.MaxPredicateMonths)
	}
	if p.asOf, err = date("as_of"); err != nil {
		return nil, err
	}
	return p, nil
}

// within refuses a question the authorised data range cannot answer: a
// monthly window that reaches outside it, or a death date after its end.
func (p *predicate) within(a *model.Authorization) error {
	from, to := a.DataFrom, a.DataTo
	switch p.code {
	case vault.PredicateDeceasedBefore:
		end, err := time.Parse(time.DateOnly, to)
		if err == nil && p.date.After(end.AddDate(0, 0, 1)) {
			return refuse(CodePredicateOutOfRange, "predicate date is after the day following the authorised data range")
		}
		return nil
	}
	first := time.Date(p.asOf.Year(), p.asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	start := first.AddDate(0, -p.months, 0).Format(time.DateOnly)
	end := first.AddDate(0, 0, -1).Format(time.DateOnly)
	if start < from || end > to {
		return refuse(CodePredicateOutOfRange,
			"the months %s to %s are not all within the authorised data range %s to %s", start, end, from, to)
	}
	return nil
}

// answer evaluates the predicate over the records' facts.
func (p *predicate) answer(facts []vault.Fact) bool {
	switch p.code {
	case vault.PredicateDeceasedBefore:
		return vault.DeceasedBefore(facts, p.date)
	case vault.PredicateHousingFundEachMonth:
		return vault.HousingFundContributedEachMonth(facts, p.months, p.asOf, p.minFen)
	case vault.PredicateSocialSecurityContinuous:
		return vault.SocialSecurityContinuous(facts, p.ins, p.months, p.asOf)
	}
	return false
}

// codeOrEmpty is the predicate code recorded with the access ("" for a
// records delivery).
func (p *predicate) codeOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.code
}
