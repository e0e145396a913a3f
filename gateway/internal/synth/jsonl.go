package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"iter"
)

// WriteJSONL writes each record's body on a line of its own (JSON Lines),
// in order, and returns the number of records written. The output is what
// the provider's importer reads: one dataset file per category is
// WriteJSONL over Records for that category.
func WriteJSONL(w io.Writer, records iter.Seq[Record]) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	for r := range records {
		bw.Write(r.Body)
		if err := bw.WriteByte('\n'); err != nil {
			return n, fmt.Errorf("synth: write records: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("synth: write records: %w", err)
	}
	return n, nil
}

// WriteCitizensJSONL writes the citizens as JSON Lines, one object with
// id_number, name, phone and birth_date per line: the demo's login data.
func WriteCitizensJSONL(w io.Writer, citizens []Citizen) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, c := range citizens {
		if err := enc.Encode(c); err != nil {
			return fmt.Errorf("synth: write citizens: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: write citizens: %w", err)
	}
	return nil
}
