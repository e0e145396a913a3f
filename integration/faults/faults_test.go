// Package faults crashes parts of the real network while traffic runs and
// checks what users see: nothing lost, nothing applied twice, and how long
// recovery took. `make test` runs a short version; `make test-faults`
// runs more cycles (QUANCHAIN_FAULT_CYCLES).
package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/quanchain/quanchain/network/nettest"
)

// testNet is the network every test of this package uses.
var testNet *nettest.Network

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	n, err := nettest.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	testNet = n
	code := m.Run()
	if err := n.Stop(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "faults: stop network:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// cycles is how many times a fault test repeats its fault.
func cycles(def int) int {
	if n, err := strconv.Atoi(os.Getenv("QUANCHAIN_FAULT_CYCLES")); err == nil && n > 0 {
		return n
	}
	return def
}
