// Package fabconn connects Fabric Gateway clients to the local quanchain
// network as one of its organisations, from the network's state directory.
//
// `quanchain-net up` writes <state>/network.json (a Profile): for every peer
// organisation its peer endpoint, TLS root certificate and the cryptogen
// identities (User1, Admin) of its users. Connect reads it and returns a
// ready fabric-gateway connection:
//
//	conn, err := fabconn.Connect(ctx, stateDir, "BankMSP")
//	if err != nil { … }
//	defer conn.Close()
//	out, err := conn.Contract("registry").EvaluateWithContext(ctx, "GetInstitution", client.WithArguments("BankMSP"))
package fabconn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProfileFile is the profile's file name inside the state directory.
const ProfileFile = "network.json"

// Profile describes the network to its clients. Paths are relative to the
// state directory, so the directory can be moved as a whole.
type Profile struct {
	Channel   string       `json:"channel"`
	Chaincode string       `json:"chaincode"`
	Orgs      []OrgProfile `json:"orgs"`
}

// OrgProfile is what a client of one organisation needs.
type OrgProfile struct {
	Name         string          `json:"name"`          // short name: bureau, bank, insurer, audit
	MSPID        string          `json:"msp_id"`        // BureauMSP, …
	PeerEndpoint string          `json:"peer_endpoint"` // host:port of the organisation's peer (gateway)
	PeerHostname string          `json:"peer_hostname"` // the peer's name in its TLS certificate
	TLSRootCert  string          `json:"tls_root_cert"` // the organisation's TLS CA certificate (PEM)
	Users        map[string]User `json:"users"`         // "User1", "Admin"
}

// User is one enrolled identity: an X.509 certificate and its private key
// (PEM files).
type User struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// LoadProfile reads <stateDir>/network.json.
func LoadProfile(stateDir string) (*Profile, error) {
	path := filepath.Join(stateDir, ProfileFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read network profile (is the network up?): %w", err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &p, nil
}

// Org returns the profile of an organisation named by MSP ID ("BankMSP")
// or short name ("bank"), case-insensitively.
func (p *Profile) Org(name string) (*OrgProfile, error) {
	for i := range p.Orgs {
		o := &p.Orgs[i]
		if strings.EqualFold(o.MSPID, name) || strings.EqualFold(o.Name, name) {
			return o, nil
		}
	}
	return nil, fmt.Errorf("organisation %q is not in the network profile", name)
}

// MSPIDs returns every organisation's MSP ID in profile order.
func (p *Profile) MSPIDs() []string {
	ids := make([]string, len(p.Orgs))
	for i, o := range p.Orgs {
		ids[i] = o.MSPID
	}
	return ids
}
