package cmdutil

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// Format is an output format.
type Format string

// Output formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// OutputFlags hold --json and, on commands that also write CSV, --format.
type OutputFlags struct {
	JSON    bool
	Format  string
	formats []Format
}

// AddJSONFlag adds --json: write the result as JSON instead of a table.
func AddJSONFlag(cmd *cobra.Command, o *OutputFlags) {
	o.formats = []Format{FormatTable, FormatJSON}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "write the result as JSON")
}

// AddFormatFlags adds --json and --format table|json|csv.
func AddFormatFlags(cmd *cobra.Command, o *OutputFlags) {
	AddJSONFlag(cmd, o)
	o.formats = []Format{FormatTable, FormatJSON, FormatCSV}
	cmd.Flags().StringVar(&o.Format, "format", string(FormatTable), "output format: table, json or csv")
}

// Resolve returns the selected format; --json is --format json.
func (o *OutputFlags) Resolve() (Format, error) {
	f := Format(strings.ToLower(o.Format))
	if f == "" {
		f = FormatTable
	}
	if o.JSON {
		if f != FormatTable && f != FormatJSON {
			return "", UsageErrorf("--json and --format %s contradict each other", o.Format)
		}
		return FormatJSON, nil
	}
	for _, ok := range o.formats {
		if f == ok {
			return f, nil
		}
	}
	names := make([]string, len(o.formats))
	for i, ok := range o.formats {
		names[i] = string(ok)
	}
	return "", UsageErrorf("--format must be one of %s, not %q", strings.Join(names, ", "), o.Format)
}

// WriteJSON writes v as indented JSON, HTML characters unescaped.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table writes aligned columns.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable starts a table; headers, if any, make its first row.
func NewTable(w io.Writer, headers ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(headers) > 0 {
		t.Row(headers...)
	}
	return t
}

// Row adds one row. Tabs and newlines inside cells are replaced by spaces so
// they cannot break the alignment.
func (t *Table) Row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(clean, "\t"))
}

// Flush writes the table out.
func (t *Table) Flush() error { return t.tw.Flush() }

// WriteCSV writes a header and rows as RFC 4180 CSV. Cells that a spreadsheet
// would take for a formula are prefixed with a quote.
func WriteCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		safe := make([]string, len(r))
		for i, c := range r {
			safe[i] = csvSafe(c)
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Short abbreviates a long hex string for tables ("3fa2c1…9b0e"); JSON and
// CSV always carry the full value.
func Short(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

// OrDash renders an empty cell as "-".
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
