// Package fabconn connects Fabric Gateway clients to the local quanchain
// network as one of its organisations, from the network's state directory.
//
// `quanchain-net up` writes <state>/network.json (a Profile): for every peer
// organisation its peer endpoint, TLS root certificate and the cryptogen
// identities (User1, Admin) of its users, and the addresses of the
// members' HTTP gateways it runs. StateDir finds the state directory;
// Connect reads the profile and returns a ready fabric-gateway connection:
//
//	conn, err := fabconn.Connect(ctx, stateDir, "BankMSP")
//	if err != nil { … }
//	defer conn.Close()
//	out, err := conn.Contract("registry").EvaluateWithContext(ctx, "GetInstitution", client.WithArguments("BankMSP"))
package fabconn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Gateways are the members' HTTP gateways the network tool runs
	// (none in a profile written before it listed them).
	Gateways []GatewayProfile `json:"gateways,omitempty"`
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

// GatewayProfile is one member organisation's HTTP gateway.
type GatewayProfile struct {
	MSPID string   `json:"msp_id"` // the organisation it serves
	Roles []string `json:"roles"`  // "provider", "requester"
	// API is its HTTP API, "http://127.0.0.1:7080".
	API string `json:"api"`
	// PeerAPI is a provider's mutual-TLS listener, where the other
	// members' gateways and qc turn ID numbers into citizenRefs and fetch
	// authorised data, "https://127.0.0.1:7090"; empty for a requester.
	PeerAPI string `json:"peer_api,omitempty"`
	// DataDir is its own state (store, keys, demo-clients.json), relative
	// to the state directory like every path of the profile.
	DataDir string `json:"data_dir"`
}

// HasRole reports whether the gateway has a role.
func (g GatewayProfile) HasRole(role string) bool { return slices.Contains(g.Roles, role) }

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

// Provider returns the gateway with the provider role: the operator's,
// which serves the other members' gateways on its PeerAPI.
func (p *Profile) Provider() (*GatewayProfile, error) {
	for i := range p.Gateways {
		if p.Gateways[i].HasRole("provider") {
			return &p.Gateways[i], nil
		}
	}
	return nil, errors.New("the network profile names no provider gateway (`make up` writes the current profile)")
}

// MSPIDs returns every organisation's MSP ID in profile order.
func (p *Profile) MSPIDs() []string {
	ids := make([]string, len(p.Orgs))
	for i, o := range p.Orgs {
		ids[i] = o.MSPID
	}
	return ids
}
