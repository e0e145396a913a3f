package main

import (
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

// TestCeilingContractOptIn: the ceiling contract is registered only when
// QUANCHAIN_CEILING_CONTRACT says so; a deployment's chaincode lacks it.
func TestCeilingContractOptIn(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    string // "" for a successful Put, else the error
		wantErr bool   // newServer refuses the setting
	}{
		{env: "", want: "Contract not found with name ceiling"},
		{env: "0", want: "Contract not found with name ceiling"},
		{env: "1"},
		{env: "true"},
		{env: "yes", wantErr: true},
	} {
		t.Run("QUANCHAIN_CEILING_CONTRACT="+tc.env, func(t *testing.T) {
			env := map[string]string{
				"CHAINCODE_ID": "quanchain:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:0",
				"QUANCHAIN_CEILING_CONTRACT": tc.env,
			}
			server, err := newServer(func(k string) string { return env[k] })
			if tc.wantErr {
				if err == nil {
					t.Fatal("newServer accepted the setting")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ledger := stubtest.NewLedger("quanchain")
			creator := stubtest.MustIdentity("BankMSP", "client.bank").Creator()
			stub := ledger.NewTx("tx1", time.Now(), creator, "ceiling:Put", "load-1", "v")
			resp := server.CC.Invoke(stub)
			if got := resp.GetMessage(); got != tc.want {
				t.Fatalf("ceiling:Put: status %d %q, want %q", resp.GetStatus(), got, tc.want)
			}
		})
	}
}
