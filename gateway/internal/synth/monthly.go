package synth

import (
	"math/rand/v2"
	"time"
)

// The monthly categories: housing fund, social security and income tax.
// Each record struct declares its fields in JSON key order, so that
// encoding/json writes canonical JSON.

var employers = []string{
	"浪潮集团有限公司", "中国重型汽车集团有限公司", "山东高速集团有限公司",
	"齐鲁银行股份有限公司", "济南轨道交通集团有限公司", "山东黄金集团有限公司",
	"济南二机床集团有限公司", "山东大学", "济南市中心医院", "山东能源集团有限公司",
}

// HousingFundRecord is one month's housing-fund (住房公积金) deposit.
type HousingFundRecord struct {
	AmountFen   int64  `json:"amount_fen"` // personal + employer
	BaseFen     int64  `json:"base_fen"`   // contribution base
	Category    string `json:"category"`
	CitizenID   string `json:"citizen_id"`
	Employer    string `json:"employer"`
	EmployerFen int64  `json:"employer_fen"`
	Month       string `json:"month"` // YYYY-MM the deposit is for
	PersonalFen int64  `json:"personal_fen"`
	RatePercent int64  `json:"rate_percent"` // paid by each side
	RecordDate  string `json:"record_date"`
}

func (r HousingFundRecord) date() string { return r.RecordDate }

// SocialSecurityRecord is one month's contribution to one insurance
// (社会保险): pension or medical.
type SocialSecurityRecord struct {
	BaseFen     int64  `json:"base_fen"`
	Category    string `json:"category"`
	CitizenID   string `json:"citizen_id"`
	Employer    string `json:"employer"`
	EmployerFen int64  `json:"employer_fen"`
	Insurance   string `json:"insurance"` // "pension" or "medical"
	Month       string `json:"month"`
	PersonalFen int64  `json:"personal_fen"`
	RecordDate  string `json:"record_date"`
	Status      string `json:"status"` // "paid"
}

func (r SocialSecurityRecord) date() string { return r.RecordDate }

// TaxRecord is one month's individual income tax (个人所得税) withheld by
// the employer.
type TaxRecord struct {
	Category         string `json:"category"`
	CitizenID        string `json:"citizen_id"`
	DeductionsFen    int64  `json:"deductions_fen"` // social insurance and housing fund paid personally
	IncomeFen        int64  `json:"income_fen"`
	Month            string `json:"month"`
	RecordDate       string `json:"record_date"`
	TaxFen           int64  `json:"tax_fen"`
	WithholdingAgent string `json:"withholding_agent"`
}

func (r TaxRecord) date() string { return r.RecordDate }

// Social insurance rates (percent) and the Shandong contribution base
// limits (fen) the generator uses.
const (
	pensionPersonal, pensionEmployer = 8, 16
	medicalPersonal, medicalEmployer = 2, 7
	ssBaseMinFen, ssBaseMaxFen       = 4_000_00, 21_000_00
)

func ssBase(salaryFen int64) int64 { return min(max(salaryFen, ssBaseMinFen), ssBaseMaxFen) }

func pct(v, percent int64) int64 { return v * percent / 100 }

func genHousingFund(_ *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	return p.eachMonth(w, 15, func(m, d time.Time) bool {
		share := pct(p.salaryFen, p.hfRate)
		return emit(HousingFundRecord{
			AmountFen: 2 * share, BaseFen: p.salaryFen, Category: HousingFund, CitizenID: p.c.IDNumber,
			Employer: p.employer, EmployerFen: share, Month: m.Format("2006-01"), PersonalFen: share,
			RatePercent: p.hfRate, RecordDate: d.Format(time.DateOnly),
		})
	})
}

func genSocialSecurity(_ *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	base := ssBase(p.salaryFen)
	return p.eachMonth(w, 20, func(m, d time.Time) bool {
		rec := SocialSecurityRecord{
			BaseFen: base, Category: SocialSecurity, CitizenID: p.c.IDNumber, Employer: p.employer,
			Month: m.Format("2006-01"), RecordDate: d.Format(time.DateOnly), Status: "paid",
		}
		pension, medical := rec, rec
		pension.Insurance, pension.PersonalFen, pension.EmployerFen = "pension", pct(base, pensionPersonal), pct(base, pensionEmployer)
		medical.Insurance, medical.PersonalFen, medical.EmployerFen = "medical", pct(base, medicalPersonal), pct(base, medicalEmployer)
		return emit(medical) && emit(pension)
	})
}

// monthlyIIT applies the monthly-converted rate table of the Individual
// Income Tax Law (2018) to a month's taxable income, in fen.
func monthlyIIT(taxableFen int64) int64 {
	brackets := []struct{ upTo, rate, quick int64 }{
		{3_000_00, 3, 0}, {12_000_00, 10, 210_00}, {25_000_00, 20, 1_410_00},
		{35_000_00, 25, 2_660_00}, {55_000_00, 30, 4_410_00}, {80_000_00, 35, 7_160_00},
	}
	if taxableFen <= 0 {
		return 0
	}
	for _, b := range brackets {
		if taxableFen <= b.upTo {
			return pct(taxableFen, b.rate) - b.quick
		}
	}
	return pct(taxableFen, 45) - 15_160_00
}

func genTax(_ *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	base := ssBase(p.salaryFen)
	deductions := pct(base, pensionPersonal) + pct(base, medicalPersonal) + pct(p.salaryFen, p.hfRate)
	tax := monthlyIIT(p.salaryFen - 5_000_00 - deductions)
	return p.eachMonth(w, 25, func(m, d time.Time) bool {
		return emit(TaxRecord{
			Category: Tax, CitizenID: p.c.IDNumber, DeductionsFen: deductions, IncomeFen: p.salaryFen,
			Month: m.Format("2006-01"), RecordDate: d.Format(time.DateOnly), TaxFen: tax, WithholdingAgent: p.employer,
		})
	})
}
