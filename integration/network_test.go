// Package integration holds the end-to-end tests that run against a real
// local Fabric network, brought up (or reused) by network/nettest.
package integration

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/quanchain/quanchain/network/fabnet"
	"github.com/quanchain/quanchain/network/nettest"
)

// testNet is the network every test of this package uses.
var testNet *nettest.Network

func TestMain(m *testing.M) {
	os.Exit(nettest.Main(m, "integration", func(n *nettest.Network) { testNet = n }))
}

// TestNetworkSmoke checks that every process is healthy, every peer has
// the channel and the chaincode is committed and bootstrapped.
func TestNetworkSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("processes healthy", func(t *testing.T) {
		rep, err := testNet.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rep.Processes {
			if !p.Running || p.Health != "ok" {
				t.Errorf("%s: running=%v health=%q (log %s)", p.Name, p.Running, p.Health, p.Log)
			}
		}
		if want := 3 + 4 + 1 + 1 + 3; len(rep.Processes) != want { // orderers, peers, chaincode, identity provider, gateways
			t.Errorf("got %d processes, want %d", len(rep.Processes), want)
		}
	})

	t.Run("channel height", func(t *testing.T) {
		for _, org := range nettest.Orgs() {
			h, err := testNet.Height(ctx, org)
			if err != nil {
				t.Errorf("%s: %v", org, err)
				continue
			}
			if h == 0 {
				t.Errorf("%s: channel height 0", org)
			}
		}
	})

	t.Run("chaincode committed", func(t *testing.T) {
		for _, org := range nettest.Orgs() {
			conn, err := testNet.Connection(ctx, org)
			if err != nil {
				t.Fatal(err)
			}
			def, err := conn.CommittedChaincode(ctx, fabnet.ChaincodeName)
			if err != nil {
				t.Fatalf("%s: %v", org, err)
			}
			if def.GetVersion() != fabnet.ChaincodeVersion || def.GetSequence() < 1 {
				t.Errorf("%s: committed version %q sequence %d, want version %q", org,
					def.GetVersion(), def.GetSequence(), fabnet.ChaincodeVersion)
			}
			for _, msp := range nettest.Orgs() {
				if !def.GetApprovals()[msp] {
					t.Errorf("%s: definition not approved by %s", org, msp)
				}
			}
		}
	})

	t.Run("registry bootstrapped", func(t *testing.T) {
		registry, err := testNet.Contract("AuditMSP")
		if err != nil {
			t.Fatal(err)
		}
		out, err := registry.EvaluateWithContext(ctx, "registry:GetConfig")
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			OperatorMSP string `json:"operator_msp"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		if cfg.OperatorMSP != "BureauMSP" {
			t.Errorf("operator %q, want BureauMSP", cfg.OperatorMSP)
		}
	})
}
