package ledgerclient

import (
	"context"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/network/fabclient"
)

// GatewayTransport evaluates requests through a Fabric Gateway connection
// (see network/fabclient). A request without Org is evaluated by the
// connected organisation's own peer, never by another organisation's; with
// Org, by that organisation's peer only.
func GatewayTransport(conn *fabclient.Connection) Transport {
	return gatewayTransport{conn: conn}
}

type gatewayTransport struct {
	conn *fabclient.Connection
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
	return p.EvaluateWithContext(ctx)
}
