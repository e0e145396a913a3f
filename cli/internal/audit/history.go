package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// ObjectTypes are the ledger object types whose history can be read.
var ObjectTypes = []string{"config", "institution", "category", "purpose", "citizen", "auth", "anchor", "batch", "revocation", "access"}

// typeAliases are friendlier names for object types.
var typeAliases = map[string]string{"authorization": "auth", "authorisation": "auth", "record": "anchor"}

// HistoryOptions are the inputs of `qc audit history`.
type HistoryOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Type string
	ID   string
}

// Version is one committed version of a key, with what changed from the
// version before it.
type Version struct {
	TxID      string `json:"tx_id"`
	Timestamp string `json:"timestamp"`
	// Creator is the identity that submitted the transaction (its
	// organisation and certificate subject), from the transaction itself
	// (qscc GetTransactionByID); nil if the peer does not hold it.
	Creator  *chain.Identity `json:"creator"`
	IsDelete bool            `json:"is_delete"`
	Value    json.RawMessage `json:"value,omitempty"`
	Changes  []Change        `json:"changes"`
}

// Change is one top-level field that differs from the previous version.
type Change struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from,omitempty"`
	To    json.RawMessage `json:"to,omitempty"`
}

// NewCmdHistory returns `qc audit history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "history <type> <id>",
		Short: "Show every committed version of a ledger object",
		Long: `Show every committed version of one ledger object, newest first, as the
peer's history database holds it (registry:History): the transaction, its
time, who submitted it — the creator's organisation (MSP ID) and certificate
subject, read from the transaction itself (qscc GetTransactionByID, as
` + "`qc ledger tx`" + ` shows it) — and which fields changed.

Types: ` + strings.Join(ObjectTypes, ", ") + ` (config takes no id;
"authorization" is accepted for auth).`,
		Example: `  qc audit history auth loan-2026-0042
  qc audit history institution BankMSP --json
  qc audit history config`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return cmdutil.UsageErrorf("%s takes an object type and an id", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := strings.ToLower(args[0])
			if alias, ok := typeAliases[typ]; ok {
				typ = alias
			}
			known := false
			for _, t := range ObjectTypes {
				known = known || t == typ
			}
			if !known {
				return cmdutil.UsageErrorf("object type %q: want one of %s", args[0], strings.Join(ObjectTypes, ", "))
			}
			opts.Type = typ
			switch {
			case typ == "config" && len(args) == 2:
				return cmdutil.UsageErrorf("the config object has no id")
			case typ != "config" && len(args) != 2:
				return cmdutil.UsageErrorf("%s takes an object type and an id", cmd.CommandPath())
			case len(args) == 2:
				opts.ID = args[1]
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return historyRun(opts)
		},
	}
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

func historyRun(opts *HistoryOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	entries, err := lc.History(opts.Ctx, opts.Type, opts.ID)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return cmdutil.NotFoundf("%s has no history: it was never written", strings.TrimSpace(opts.Type+" "+opts.ID))
	}
	versions := Versions(entries)
	missing, err := addCreators(opts.Ctx, lc, versions)
	if err != nil {
		return err
	}
	switch format {
	case cmdutil.FormatJSON:
		return cmdutil.WriteJSON(opts.IO.Out, versions)
	case cmdutil.FormatCSV:
		rows := make([][]string, len(versions))
		for i, v := range versions {
			var msp, subject string
			if v.Creator != nil {
				msp, subject = v.Creator.MSPID, v.Creator.Subject
			}
			rows[i] = []string{v.TxID, v.Timestamp, msp, subject, strconv.FormatBool(v.IsDelete), summary(v.Changes), string(v.Value)}
		}
		return cmdutil.WriteCSV(opts.IO.Out, []string{"tx_id", "timestamp", "creator_msp", "creator_subject", "is_delete", "changes", "value"}, rows)
	}
	t := cmdutil.NewTable(opts.IO.Out, "TIME", "TX ID", "SUBMITTED BY", "CHANGES")
	for _, v := range versions {
		by := "?"
		if v.Creator != nil {
			by = v.Creator.String()
		}
		t.Row(v.Timestamp, v.TxID, by, summary(v.Changes))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "%d version(s) of %s, newest first\n", len(versions), strings.TrimSpace(opts.Type+" "+opts.ID))
	if missing > 0 {
		fmt.Fprintf(opts.IO.Out, "note: %d transaction(s) not found on %s's peer: submitter unknown (?)\n", missing, lc.MSPID)
	}
	return nil
}

// addCreators sets each version's creator from its transaction on the
// connected peer, and returns how many transactions the peer does not
// hold.
func addCreators(ctx context.Context, lc *cmdutil.Ledger, versions []Version) (missing int, err error) {
	seen := map[string]*chain.Identity{}
	for i := range versions {
		id, ok := seen[versions[i].TxID]
		if !ok {
			pt, err := lc.Blocks.Transaction(ctx, "", versions[i].TxID)
			switch {
			case cmdutil.IsNotFound(err):
			case err != nil:
				return 0, fmt.Errorf("the submitter of transaction %s: %w", versions[i].TxID, err)
			default:
				id = chain.DecodeTransaction(pt, lc.Chaincode).Creator
			}
			seen[versions[i].TxID] = id
		}
		if id == nil {
			missing++
		}
		versions[i].Creator = id
	}
	return missing, nil
}

// Versions turns history entries (newest first) into versions with the
// changes each made to the one before it.
func Versions(entries []model.HistoryEntry) []Version {
	out := make([]Version, len(entries))
	for i, e := range entries {
		v := Version{TxID: e.TxID, Timestamp: e.Timestamp, IsDelete: e.IsDelete, Changes: []Change{}}
		if e.Value != "" {
			v.Value = rawJSON(e.Value)
		}
		var older string
		if i+1 < len(entries) {
			older = entries[i+1].Value
		}
		switch {
		case e.IsDelete:
			v.Changes = append(v.Changes, Change{Field: "(deleted)"})
		case i+1 == len(entries):
			v.Changes = append(v.Changes, Change{Field: "(created)"})
		default:
			v.Changes = diff(older, e.Value)
		}
		out[i] = v
	}
	return out
}

func rawJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// diff lists the top-level fields of two JSON objects that differ.
func diff(older, newer string) []Change {
	var a, b map[string]json.RawMessage
	if json.Unmarshal([]byte(older), &a) != nil || json.Unmarshal([]byte(newer), &b) != nil {
		if older == newer {
			return []Change{}
		}
		return []Change{{Field: "(value)", From: rawJSON(older), To: rawJSON(newer)}}
	}
	fields := map[string]bool{}
	for k := range a {
		fields[k] = true
	}
	for k := range b {
		fields[k] = true
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []Change{}
	for _, k := range names {
		if !bytes.Equal(compact(a[k]), compact(b[k])) {
			out = append(out, Change{Field: k, From: a[k], To: b[k]})
		}
	}
	return out
}

func compact(b json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// noisy fields change with every write; the table leaves them out.
var noisy = map[string]bool{"updated_at": true, "last_tx_id": true}

// summary renders changes for a table: "status GRANTED→PAUSED, seq 1→2".
func summary(changes []Change) string {
	var parts []string
	for _, c := range changes {
		if noisy[c.Field] {
			continue
		}
		if c.From == nil && c.To == nil {
			parts = append(parts, c.Field)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s→%s", c.Field, brief(c.From), brief(c.To)))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// brief renders a JSON value short: strings unquoted, objects elided.
func brief(v json.RawMessage) string {
	if v == nil {
		return "∅"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if len(s) > 40 {
			return cmdutil.Short(s)
		}
		return s
	}
	c := string(compact(v))
	if len(c) > 40 {
		return c[:1] + "…" + c[len(c)-1:]
	}
	return c
}
