// Package cli runs qc, the quanchain auditor's command line, in-process:
// cmd/qc runs it for the shell, and the end-to-end tests run it against the
// live network. The commands themselves live in cli/internal.
package cli

import (
	"context"
	"io"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/root"
)

// Run runs qc with args (without the program name), writing results to
// stdout and diagnostics to stderr, and returns qc's exit code: 0 success,
// 1 failure, 2 usage error, 3 verification failed or findings present,
// 4 not found. Progress bars are never drawn.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return root.Run(ctx, &cmdutil.IOStreams{In: eofReader{}, Out: stdout, ErrOut: stderr}, args)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
