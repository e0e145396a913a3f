// Command qc is the quanchain auditor's command line: it reads the ledger
// from the auditor's own peer. See docs/cli.md, or run `qc --help`.
package main

import (
	"os"

	"github.com/quanchain/quanchain/cli/internal/root"
)

func main() { os.Exit(root.Main()) }
