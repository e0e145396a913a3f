// Package synth generates deterministic synthetic citizens and government
// records for the demo network and for benchmarks: citizens with valid
// GB 11643-1999 ID numbers registered in Jinan, and JSON records of every
// data category the provider serves.
//
// Output depends only on the seed and the arguments: the same seed gives
// the same citizens and the same record bytes on every machine and every
// run. Randomness comes from math/rand/v2 PCG generators seeded from the
// seed (never the global source), one stream per purpose, so adding a
// category or a citizen does not change the records of the others.
//
// The data is synthetic but has the shape of personal data (ID numbers,
// names, phones); treat it as such: it belongs in the provider's digital
// safe, never on the ledger or in logs.
package synth

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/quanchain/quanchain/internal/resident"
)

// Citizen is a synthetic resident of Jinan.
type Citizen struct {
	IDNumber  string `json:"id_number"`  // 18 characters, GB 11643-1999
	Name      string `json:"name"`       // Chinese name, surname first
	Phone     string `json:"phone"`      // 11-digit mobile number
	BirthDate string `json:"birth_date"` // YYYY-MM-DD, as in the ID number
}

// District is a county-level division of Jinan with its GB/T 2260 code.
type District struct {
	Code string
	Name string
}

// JinanDistricts returns the districts and counties of Jinan that
// synthetic citizens are registered in.
func JinanDistricts() []District {
	return []District{
		{"370102", "历下区"}, {"370103", "市中区"}, {"370104", "槐荫区"},
		{"370105", "天桥区"}, {"370112", "历城区"}, {"370113", "长清区"},
		{"370114", "章丘区"}, {"370115", "济阳区"}, {"370116", "莱芜区"},
		{"370117", "钢城区"}, {"370124", "平阴县"}, {"370126", "商河县"},
	}
}

var (
	surnames = []string{
		"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
		"徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "孔",
	}
	maleGiven = []string{
		"伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚",
		"建国", "志强", "海波", "鹏飞", "浩然", "子轩", "宇航", "博文",
	}
	femaleGiven = []string{
		"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪",
		"秀英", "桂兰", "玉梅", "欣怡", "子涵", "雨萱", "思琪", "晓燕",
	}
)

// Streams of the PCG generators: each purpose draws from its own stream.
const (
	streamCitizens uint64 = 0x9e3779b97f4a7c15
	streamProfile  uint64 = 0x6a09e667f3bcc908
)

// newRand returns a PCG generator for seed on the stream named by parts.
func newRand(seed int64, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// Birth dates are drawn from this range: adults of working or retirement
// age.
var (
	birthFrom = time.Date(1958, 1, 1, 0, 0, 0, 0, time.UTC)
	birthTo   = time.Date(2004, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Citizens returns n synthetic citizens for seed, with distinct ID numbers
// and phone numbers. The same seed gives the same citizens; the first k
// citizens of n are the citizens of k.
func Citizens(seed int64, n int) []Citizen {
	rng := rand.New(rand.NewPCG(uint64(seed), streamCitizens))
	districts := JinanDistricts()
	days := int(birthTo.Sub(birthFrom).Hours()/24) + 1
	seenID := make(map[string]bool, n)
	seenPhone := make(map[string]bool, n)
	out := make([]Citizen, 0, n)
	for len(out) < n {
		d := districts[rng.IntN(len(districts))]
		birth := birthFrom.AddDate(0, 0, rng.IntN(days))
		female := rng.IntN(2) == 0
		// Sequence 001–999 (the last digit odd for men, even for women).
		seq := 1 + rng.IntN(499)*2
		if female {
			seq = 2 + rng.IntN(499)*2
		}
		body := fmt.Sprintf("%s%s%03d", d.Code, birth.Format("20060102"), seq)
		check, _ := resident.CheckChar(body) // body is 17 digits by construction
		id := body + string(check)
		phone := fmt.Sprintf("1%d%09d", 3+rng.IntN(7), rng.IntN(1_000_000_000))
		given := maleGiven
		if female {
			given = femaleGiven
		}
		name := surnames[rng.IntN(len(surnames))] + given[rng.IntN(len(given))]
		if seenID[id] || seenPhone[phone] {
			continue // redraw; deterministic, as the draws are
		}
		seenID[id], seenPhone[phone] = true, true
		out = append(out, Citizen{IDNumber: id, Name: name, Phone: phone, BirthDate: birth.Format(time.DateOnly)})
	}
	return out
}
