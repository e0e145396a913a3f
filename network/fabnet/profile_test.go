package fabnet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// TestProfileNamesGateways checks that network.json tells clients where
// the gateways `up` runs listen and keep their files.
func TestProfileNamesGateways(t *testing.T) {
	l := Layout{StateDir: t.TempDir()}
	top := DefaultTopology()
	for _, p := range top.Peers {
		for _, u := range []string{"User1", "Admin"} {
			ks := filepath.Join(l.UserDir(p.Org, u), "msp", "keystore")
			if err := os.MkdirAll(ks, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ks, "k_sk"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := writeProfile(l, top); err != nil {
		t.Fatal(err)
	}
	prof, err := fabconn.LoadProfile(l.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.Orgs) != len(top.Peers) || len(prof.Gateways) != len(Gateways()) {
		t.Fatalf("%d orgs, %d gateways", len(prof.Orgs), len(prof.Gateways))
	}
	op, err := prof.Provider()
	if err != nil {
		t.Fatal(err)
	}
	if op.MSPID != "BureauMSP" || op.API != "http://127.0.0.1:7080" || op.PeerAPI != "https://"+OperatorPeerListen ||
		op.DataDir != filepath.Join("gateway", "bureau") {
		t.Errorf("provider gateway %+v", op)
	}
	for i, g := range Gateways() {
		gp := prof.Gateways[i]
		if gp.MSPID != g.Org || gp.API != "http://"+g.Listen || filepath.Join(l.StateDir, gp.DataDir) != l.GatewayDataDir(g) ||
			(gp.PeerAPI != "") != gp.HasRole("provider") {
			t.Errorf("gateway %+v, want %+v", gp, g)
		}
	}
}
