// Command quanchain-net brings up, stops, wipes and inspects the local
// quanchain Fabric network.
//
//	quanchain-net up      build what is missing, start or resume the network, deploy and bootstrap
//	quanchain-net down    stop every process (state is kept)
//	quanchain-net clean   stop everything and delete the state directory
//	quanchain-net status  show every process, its health and the channel height per peer
//
// QUANCHAIN_HOME moves the state directory (default <repo>/.quanchain);
// QUANCHAIN_CACHE moves the binaries cache (default $XDG_CACHE_HOME or ~/.cache).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/quanchain/quanchain/network/fabnet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: quanchain-net up|down|clean|status

  up      build what is missing, start or resume the network, deploy the chaincode, bootstrap the registry
  down    stop every process (state is kept; up resumes it)
  clean   stop everything and delete the state directory (the binaries cache is kept)
  status  show every process, its health and each peer's channel height

environment: QUANCHAIN_HOME (state directory, default <repo>/.quanchain),
             QUANCHAIN_CACHE (cache base, default $XDG_CACHE_HOME or ~/.cache)
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	l, err := fabnet.DefaultLayout()
	if err != nil {
		fmt.Fprintf(stderr, "quanchain-net: %v\n", err)
		return 1
	}
	switch args[0] {
	case "up":
		err = fabnet.Up(ctx, l, fabnet.Options{Out: stdout})
	case "down":
		err = fabnet.Down(ctx, l, stdout)
	case "clean":
		err = fabnet.Clean(ctx, l, stdout)
	case "status":
		var rep *fabnet.Report
		if rep, err = fabnet.Status(ctx, l); err == nil {
			rep.Print(stdout)
			if !rep.Healthy() {
				err = errors.New("the network is not fully running")
			}
		}
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "quanchain-net: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "quanchain-net %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
