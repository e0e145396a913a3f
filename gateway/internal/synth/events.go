package synth

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// The event categories: property, medical settlements, vehicles, traffic
// violations, deaths and business licences. Each record struct declares its
// fields in JSON key order, so that encoding/json writes canonical JSON.

// RealEstateRecord is a property certificate (不动产权证书).
type RealEstateRecord struct {
	Address       string `json:"address"`
	AreaM2        string `json:"area_m2"` // decimal, two places
	Category      string `json:"category"`
	CertificateNo string `json:"certificate_no"`
	CitizenID     string `json:"citizen_id"`
	District      string `json:"district"`
	RecordDate    string `json:"record_date"` // registration date
	Share         string `json:"share"`       // "sole" or "joint"
	Usage         string `json:"usage"`
}

func (r RealEstateRecord) date() string { return r.RecordDate }

// MedicalSettlementRecord is a settled hospital visit (医保结算).
type MedicalSettlementRecord struct {
	AdmissionDate string `json:"admission_date"`
	Category      string `json:"category"`
	CitizenID     string `json:"citizen_id"`
	Department    string `json:"department"`
	DischargeDate string `json:"discharge_date"`
	FundPaidFen   int64  `json:"fund_paid_fen"` // paid by the medical insurance fund
	Hospital      string `json:"hospital"`
	ICD10         string `json:"icd10"`       // diagnosis code
	RecordDate    string `json:"record_date"` // settlement date
	SelfPaidFen   int64  `json:"self_paid_fen"`
	SettlementNo  string `json:"settlement_no"`
	TotalFen      int64  `json:"total_fen"`
	VisitType     string `json:"visit_type"` // "outpatient" or "inpatient"
}

func (r MedicalSettlementRecord) date() string { return r.RecordDate }

// VehicleRegistrationRecord is a motor vehicle registration (机动车登记).
type VehicleRegistrationRecord struct {
	Brand       string `json:"brand"`
	Category    string `json:"category"`
	CitizenID   string `json:"citizen_id"`
	Plate       string `json:"plate"`
	RecordDate  string `json:"record_date"`
	Usage       string `json:"usage"`
	VehicleType string `json:"vehicle_type"`
	VIN         string `json:"vin"`
}

func (r VehicleRegistrationRecord) date() string { return r.RecordDate }

// TrafficCreditRecord is a traffic violation (交通违法记录) and its points.
type TrafficCreditRecord struct {
	Category    string `json:"category"`
	CitizenID   string `json:"citizen_id"`
	Code        string `json:"code"`
	Description string `json:"description"`
	FineFen     int64  `json:"fine_fen"`
	Plate       string `json:"plate"`
	Points      int    `json:"points"`
	RecordDate  string `json:"record_date"`
}

func (r TrafficCreditRecord) date() string { return r.RecordDate }

// DeathRegistrationRecord is a death registration (死亡登记).
type DeathRegistrationRecord struct {
	Category       string `json:"category"`
	CitizenID      string `json:"citizen_id"`
	DeathDate      string `json:"death_date"`
	Place          string `json:"place"`
	RecordDate     string `json:"record_date"` // registration date
	RegistrationNo string `json:"registration_no"`
}

func (r DeathRegistrationRecord) date() string { return r.RecordDate }

// ELicenceRecord is an electronic business licence (电子营业执照) of an
// individual business (个体工商户) the citizen operates.
type ELicenceRecord struct {
	BusinessName string `json:"business_name"`
	BusinessType string `json:"business_type"`
	Category     string `json:"category"`
	CitizenID    string `json:"citizen_id"`
	CreditCode   string `json:"credit_code"` // unified social credit code, GB 32100-2015
	District     string `json:"district"`
	RecordDate   string `json:"record_date"` // registration date
	Scope        string `json:"scope"`
	Status       string `json:"status"`
}

func (r ELicenceRecord) date() string { return r.RecordDate }

var (
	roads     = []string{"经十路", "泉城路", "历山路", "解放路", "花园路", "工业南路", "二环东路", "舜耕路", "经四路", "大明湖路"}
	hospitals = []string{"山东大学齐鲁医院", "山东省立医院", "济南市中心医院", "山东省千佛山医院", "济南市第四人民医院", "济南市人民医院"}
	depts     = []string{"内科", "外科", "骨科", "呼吸内科", "消化内科", "心血管内科", "急诊科"}
	diagnoses = []string{"J06.9", "I10", "E11.9", "K29.7", "M54.5", "J18.9", "S52.5", "N20.0"}
	brands    = []string{"中国重汽", "比亚迪", "大众", "丰田", "吉利", "长安", "本田", "红旗"}
	kinds     = []string{"小型轿车", "小型普通客车", "小型新能源汽车"}
	trades    = []struct{ name, scope string }{
		{"餐饮店", "餐饮服务"}, {"便利店", "日用百货零售"}, {"理发店", "理发服务"}, {"五金店", "五金产品零售"},
	}
	violations = []struct {
		code, desc string
		points     int
		fineFen    int64
	}{
		{"1625", "驾驶机动车违反道路交通信号灯通行", 6, 200_00},
		{"1352", "驾驶机动车超过规定时速未达20%", 3, 200_00},
		{"1039", "机动车违反规定停放", 0, 100_00},
		{"1345", "驾驶机动车违反禁止标线指示", 3, 200_00},
		{"1357", "驾驶机动车不按规定避让行人", 3, 200_00},
	}
)

// pickDates draws n days in [from, to], sorted.
func pickDates(rng *rand.Rand, n int, from, to time.Time) []time.Time {
	ds := make([]time.Time, n)
	for i := range ds {
		ds[i] = randomDay(rng, from, to)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
	return ds
}

func genRealEstate(rng *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	n := 0
	switch r := rng.IntN(100); {
	case r < 15:
		n = 2
	case r < 60:
		n = 1
	}
	from := w.from.AddDate(-2, 0, 0)
	if p.persona != nil {
		n, from = p.persona.count(RealEstate, n), w.from
	}
	for _, d := range pickDates(rng, n, from, w.to) {
		area := 4500 + rng.IntN(14000) // hundredths of m²
		share := "sole"
		if rng.IntN(2) == 0 {
			share = "joint"
		}
		// Drawn in a fixed order, whether or not the record is emitted.
		road, number, building := roads[rng.IntN(len(roads))], 1+rng.IntN(300), 1+rng.IntN(30)
		unit, room := 1+rng.IntN(4), 101+rng.IntN(25)*100+rng.IntN(4)
		rec := RealEstateRecord{
			Address:       fmt.Sprintf("济南市%s%s%d号%d号楼%d单元%d室", p.district.Name, road, number, building, unit, room),
			AreaM2:        fmt.Sprintf("%d.%02d", area/100, area%100),
			Category:      RealEstate,
			CertificateNo: fmt.Sprintf("鲁(%d)济南市不动产权第%07d号", d.Year(), rng.IntN(10_000_000)),
			CitizenID:     p.c.IDNumber,
			District:      p.district.Name,
			RecordDate:    d.Format(time.DateOnly),
			Share:         share,
			Usage:         "住宅",
		}
		if w.contains(d) && !emit(rec) {
			return false
		}
	}
	return true
}

func genMedicalSettlement(rng *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	n, to := rng.IntN(9), w.to
	if p.persona != nil {
		// Admissions end at least 15 days before the last day alive, so
		// every stay ends within the window.
		n, to = p.persona.count(MedicalSettlement, n), p.lastAlive(w).AddDate(0, 0, -15)
		if to.Before(w.from) {
			to = w.from
		}
	}
	for _, d := range pickDates(rng, n, w.from, to) {
		rec := MedicalSettlementRecord{
			AdmissionDate: d.Format(time.DateOnly), Category: MedicalSettlement, CitizenID: p.c.IDNumber,
			Department: depts[rng.IntN(len(depts))], Hospital: hospitals[rng.IntN(len(hospitals))],
			ICD10: diagnoses[rng.IntN(len(diagnoses))], VisitType: "outpatient",
			TotalFen: int64(50+rng.IntN(750)) * 100,
		}
		end := d
		if rng.IntN(100) < 20 {
			rec.VisitType = "inpatient"
			end = d.AddDate(0, 0, 3+rng.IntN(12))
			rec.TotalFen = int64(5_000+rng.IntN(55_000)) * 100
		}
		if !w.contains(end) || !p.alive(end) {
			continue
		}
		rec.DischargeDate, rec.RecordDate = end.Format(time.DateOnly), end.Format(time.DateOnly)
		rec.FundPaidFen = pct(rec.TotalFen, int64(50+rng.IntN(36)))
		rec.SelfPaidFen = rec.TotalFen - rec.FundPaidFen
		rec.SettlementNo = fmt.Sprintf("JN%s%08d", end.Format("20060102"), rng.IntN(100_000_000))
		if !emit(rec) {
			return false
		}
	}
	return true
}

func newVehicle(rng *rand.Rand, w window) vehicle {
	return vehicle{
		plate: plate(rng), vin: vin(rng), brand: brands[rng.IntN(len(brands))], kind: kinds[rng.IntN(len(kinds))],
		registered: randomDay(rng, w.from.AddDate(-3, 0, 0), w.to),
	}
}

func genVehicleRegistration(_ *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	vs := append([]vehicle(nil), p.vehicles...)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].registered.Before(vs[j].registered) })
	for _, v := range vs {
		if !w.contains(v.registered) {
			continue
		}
		if !emit(VehicleRegistrationRecord{
			Brand: v.brand, Category: VehicleRegistration, CitizenID: p.c.IDNumber, Plate: v.plate,
			RecordDate: v.registered.Format(time.DateOnly), Usage: "非营运", VehicleType: v.kind, VIN: v.vin,
		}) {
			return false
		}
	}
	return true
}

func genTrafficCredit(rng *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	var recs []TrafficCreditRecord
	for _, v := range p.vehicles {
		start := v.registered
		if start.Before(w.from) {
			start = w.from
		}
		if start.After(w.to) {
			continue
		}
		n, end := rng.IntN(5), w.to
		if p.persona != nil {
			n, end = p.persona.count(TrafficCredit, n), p.lastAlive(w)
		}
		for _, d := range pickDates(rng, n, start, end) {
			vi := violations[rng.IntN(len(violations))]
			if p.alive(d) {
				recs = append(recs, TrafficCreditRecord{
					Category: TrafficCredit, CitizenID: p.c.IDNumber, Code: vi.code, Description: vi.desc,
					FineFen: vi.fineFen, Plate: v.plate, Points: vi.points, RecordDate: d.Format(time.DateOnly),
				})
			}
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].RecordDate < recs[j].RecordDate })
	for _, r := range recs {
		if !emit(r) {
			return false
		}
	}
	return true
}

func genDeathRegistration(rng *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	if p.death.IsZero() {
		return true
	}
	reg := p.death.AddDate(0, 0, 1+rng.IntN(10))
	if reg.After(w.to) {
		reg = w.to
	}
	place := p.district.Name
	if rng.IntN(2) == 0 {
		place = hospitals[rng.IntN(len(hospitals))]
	}
	return emit(DeathRegistrationRecord{
		Category: DeathRegistration, CitizenID: p.c.IDNumber, DeathDate: p.death.Format(time.DateOnly), Place: place,
		RecordDate: reg.Format(time.DateOnly), RegistrationNo: fmt.Sprintf("%s%d%06d", p.district.Code, reg.Year(), rng.IntN(1_000_000)),
	})
}

func genELicence(rng *rand.Rand, p *profile, w window, emit func(dated) bool) bool {
	from, to := w.from.AddDate(-3, 0, 0), w.to
	if p.persona != nil {
		if !p.persona.holds(ELicence) {
			return true
		}
		from, to = w.from, p.lastAlive(w)
	} else if rng.IntN(100) >= 15 {
		return true
	}
	d := randomDay(rng, from, to)
	t := trades[rng.IntN(len(trades))]
	surname := []rune(p.c.Name)[0]
	rec := ELicenceRecord{
		BusinessName: fmt.Sprintf("济南市%s%c记%s", p.district.Name, surname, t.name), BusinessType: "个体工商户",
		Category: ELicence, CitizenID: p.c.IDNumber, CreditCode: creditCode(rng, p.district.Code),
		District: p.district.Name, RecordDate: d.Format(time.DateOnly), Scope: t.scope, Status: "存续",
	}
	if !w.contains(d) || !p.alive(d) {
		return true
	}
	return emit(rec)
}
