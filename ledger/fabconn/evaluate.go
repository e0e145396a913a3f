package fabconn

import (
	"context"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/internal/backoff"
)

// Evaluate evaluates a transaction of a chaincode on the channel ("qscc",
// or the network's chaincode with a qualified name such as
// "consent:GetAuthorization") on the peer of one organisation: org, an MSP
// ID, or the connected organisation if org is empty. It is never answered
// by another organisation's peer. For another organisation, the connected
// peer's gateway forwards the signed proposal to that organisation's peer;
// no credentials of that organisation are needed.
func (c *Connection) Evaluate(ctx context.Context, org, chaincode, name string, args ...string) ([]byte, error) {
	if org == "" {
		org = c.Org.MSPID
	}
	p, err := c.Network().GetContract(chaincode).NewProposal(name, client.WithArguments(args...),
		client.WithEndorsingOrganizations(org))
	if err != nil {
		return nil, err
	}
	// Right after a peer starts, its gateway may not yet have discovered
	// the named organisation's peer ("no peers available to evaluate"):
	// that settles within seconds, so the call waits for it.
	deadline := time.Now().Add(discoveryWait)
	pause := backoff.Backoff{Base: 250 * time.Millisecond}
	for {
		out, err := p.EvaluateWithContext(ctx)
		if err == nil || !noPeersYet(err) || time.Now().After(deadline) {
			return out, err
		}
		if !pause.Wait(ctx) {
			return nil, err
		}
	}
}

// discoveryWait bounds the wait for a peer's gateway to discover the peer
// an evaluation names.
const discoveryWait = 30 * time.Second

// noPeersYet reports the gateway's answer while discovery has not found
// the peers a call needs.
func noPeersYet(err error) bool {
	return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "no peers available")
}
