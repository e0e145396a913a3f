package fabnet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// writeProfile writes the clients' view of the network (see package
// ledger/fabconn) to <state>/network.json, with paths relative to the state
// directory: the peer organisations and the gateways `up` runs, so that
// clients such as qc find them without knowing this package's layout.
func writeProfile(l Layout, t Topology) error {
	prof := fabconn.Profile{Channel: ChannelName, Chaincode: ChaincodeName}
	rel := func(p string) (string, error) {
		r, err := filepath.Rel(l.StateDir, p)
		if err != nil {
			return "", fmt.Errorf("profile path %s: %w", p, err)
		}
		return r, nil
	}
	for _, p := range t.Peers {
		op := fabconn.OrgProfile{
			Name:         p.Org.Name,
			MSPID:        p.Org.MSPID,
			PeerEndpoint: p.Address(),
			PeerHostname: p.FQDN(),
			Users:        map[string]fabconn.User{},
		}
		var err error
		if op.TLSRootCert, err = rel(l.TLSCA(p.Org)); err != nil {
			return err
		}
		for _, u := range []string{"User1", "Admin"} {
			msp := filepath.Join(l.UserDir(p.Org, u), "msp")
			keys, _ := filepath.Glob(filepath.Join(msp, "keystore", "*_sk"))
			if len(keys) != 1 {
				return fmt.Errorf("expected one private key in %s, found %d", filepath.Join(msp, "keystore"), len(keys))
			}
			var user fabconn.User
			if user.Cert, err = rel(filepath.Join(msp, "signcerts", u+"@"+p.Org.Domain+"-cert.pem")); err != nil {
				return err
			}
			if user.Key, err = rel(keys[0]); err != nil {
				return err
			}
			op.Users[u] = user
		}
		prof.Orgs = append(prof.Orgs, op)
	}
	for _, g := range Gateways() {
		gp := fabconn.GatewayProfile{MSPID: g.Org, Roles: strings.Split(g.Roles, ","), API: "http://" + g.Listen}
		if gp.HasRole("provider") {
			gp.PeerAPI = "https://" + OperatorPeerListen
		}
		var err error
		if gp.DataDir, err = rel(l.GatewayDataDir(g)); err != nil {
			return err
		}
		prof.Gateways = append(prof.Gateways, gp)
	}
	b, err := json.MarshalIndent(prof, "", "  ")
	if err != nil {
		return fmt.Errorf("encode network profile: %w", err)
	}
	return writeFileAtomic(l.ProfileFile(), append(b, '\n'), 0o644)
}
