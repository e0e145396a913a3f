package synth_test

import (
	"fmt"
	"os"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/synth"
)

// Generate a small data set: two citizens and their tax records for one
// quarter, written as the JSON Lines the provider imports.
func Example() {
	citizens := synth.Citizens(2026, 2)
	from := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	records, err := synth.Records(2026, citizens, []string{synth.Tax}, from, to)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := synth.WriteJSONL(os.Stdout, records)
	fmt.Println(n, err)
	// Output:
	// {"category":"tax","citizen_id":"370115199408054593","deductions_fen":80576,"income_fen":503600,"month":"2026-07","record_date":"2026-07-25","tax_fen":0,"withholding_agent":"山东黄金集团有限公司"}
	// {"category":"tax","citizen_id":"370115199408054593","deductions_fen":80576,"income_fen":503600,"month":"2026-08","record_date":"2026-08-25","tax_fen":0,"withholding_agent":"山东黄金集团有限公司"}
	// {"category":"tax","citizen_id":"370115199408054593","deductions_fen":80576,"income_fen":503600,"month":"2026-09","record_date":"2026-09-25","tax_fen":0,"withholding_agent":"山东黄金集团有限公司"}
	// {"category":"tax","citizen_id":"370105199104180096","deductions_fen":307548,"income_fen":1708600,"month":"2026-07","record_date":"2026-07-25","tax_fen":69105,"withholding_agent":"济南市中心医院"}
	// {"category":"tax","citizen_id":"370105199104180096","deductions_fen":307548,"income_fen":1708600,"month":"2026-08","record_date":"2026-08-25","tax_fen":69105,"withholding_agent":"济南市中心医院"}
	// {"category":"tax","citizen_id":"370105199104180096","deductions_fen":307548,"income_fen":1708600,"month":"2026-09","record_date":"2026-09-25","tax_fen":69105,"withholding_agent":"济南市中心医院"}
	// 6 <nil>
}
