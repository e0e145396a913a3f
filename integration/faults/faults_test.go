// Package faults crashes parts of the real network while traffic runs and
// checks what users see: nothing lost, nothing applied twice, and how long
// recovery took. `make test` runs a short version; `make test-faults`
// runs more cycles (QUANCHAIN_FAULT_CYCLES).
package faults

import (
	"os"
	"strconv"
	"testing"

	"github.com/quanchain/quanchain/network/nettest"
)

// testNet is the network every test of this package uses.
var testNet *nettest.Network

func TestMain(m *testing.M) {
	os.Exit(nettest.Main(m, "faults", func(n *nettest.Network) { testNet = n }))
}

// cycles is how many times a fault test repeats its fault.
func cycles(def int) int {
	if n, err := strconv.Atoi(os.Getenv("QUANCHAIN_FAULT_CYCLES")); err == nil && n > 0 {
		return n
	}
	return def
}
