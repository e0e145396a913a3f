package ledger

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// writeTransaction writes one decoded transaction as an aligned block of
// "field value" lines.
func writeTransaction(w io.Writer, tx *chain.Transaction, withIndex bool) error {
	title := "transaction " + tx.TxID
	if withIndex {
		title = fmt.Sprintf("transaction %d  %s", tx.Index, tx.TxID)
	}
	if _, err := fmt.Fprintln(w, title); err != nil {
		return err
	}
	t := cmdutil.NewTable(w)
	row := func(k, v string) {
		if v != "" {
			t.Row("  "+k, v)
		}
	}
	row("type", tx.Type)
	row("time", tx.Timestamp)
	row("validation", cmdutil.OrDash(tx.ValidationCode))
	if tx.Creator != nil {
		row("creator", tx.Creator.String())
	}
	var endorsers []string
	for _, e := range tx.Endorsers {
		endorsers = append(endorsers, e.String())
	}
	row("endorsers", strings.Join(endorsers, ", "))
	if tx.Chaincode != "" {
		row("call", strings.TrimSpace(tx.Chaincode+" "+tx.Function))
	}
	if len(tx.Args) > 0 {
		parts := make([]string, len(tx.Args))
		for i, a := range tx.Args {
			parts[i] = string(a)
		}
		row("args", "["+strings.Join(parts, ",")+"]")
	}
	if len(tx.ArgSizes) > 0 {
		sizes := make([]string, len(tx.ArgSizes))
		for i, n := range tx.ArgSizes {
			sizes[i] = strconv.Itoa(n) + " bytes"
		}
		row("args", "(not shown: "+strings.Join(sizes, ", ")+")")
	}
	if tx.Response != nil && tx.Response.Status != 200 {
		row("response", fmt.Sprintf("%d %s", tx.Response.Status, tx.Response.Message))
	}
	if tx.Event != nil {
		row("event", strings.TrimSpace(tx.Event.Name+" "+string(tx.Event.Payload)))
	}
	var writes []string
	for _, wr := range tx.Writes {
		k := wr.Namespace + " " + wr.Key
		if wr.Delete {
			k += " (deleted)"
		}
		writes = append(writes, k)
	}
	row("writes", strings.Join(writes, ", "))
	row("decode error", tx.DecodeError)
	return t.Flush()
}
