package ledgerclient

import (
	"context"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// GatewayTransport evaluates requests through a Fabric Gateway connection
// (see ledger/fabconn). A request without Org is evaluated by the
// connected organisation's own peer, never by another organisation's; with
// Org, by that organisation's peer only.
func GatewayTransport(conn *fabconn.Connection) Transport {
	return gatewayTransport{conn: conn}
}

type gatewayTransport struct {
	conn *fabconn.Connection
}

func (g gatewayTransport) Evaluate(ctx context.Context, req Request) ([]byte, error) {
	org := req.Org
	if org == "" {
		org = g.conn.Org.MSPID
	}
	contract := g.conn.Network().GetContract(req.Chaincode)
	p, err := contract.NewProposal(req.Transaction, client.WithArguments(req.Args...), client.WithEndorsingOrganizations(org))
	if err != nil {
		return nil, err
	}
	// Right after a peer starts, its gateway may not yet have discovered
	// the named organisation's peer ("no peers available to evaluate"):
	// that settles within seconds, so the request waits for it.
	deadline := time.Now().Add(discoveryWait)
	for {
		out, err := p.EvaluateWithContext(ctx)
		if err == nil || !noPeersYet(err) || time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// discoveryWait bounds the wait for a peer's gateway to discover the peer
// a request names.
const discoveryWait = 30 * time.Second

// noPeersYet reports the gateway's answer while discovery has not found
// the peers a request needs.
func noPeersYet(err error) bool {
	return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "no peers available")
}
