package fabconn

import (
	"context"
	"fmt"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer/lifecycle"
	"google.golang.org/protobuf/proto"
)

// CommittedChaincode returns the definition of a chaincode committed on the
// channel (_lifecycle QueryChaincodeDefinition): sequence, version,
// endorsement and validation settings, and which organisations approved it.
func (c *Connection) CommittedChaincode(ctx context.Context, name string) (*lifecycle.QueryChaincodeDefinitionResult, error) {
	arg, err := proto.Marshal(&lifecycle.QueryChaincodeDefinitionArgs{Name: name})
	if err != nil {
		return nil, fmt.Errorf("encode query: %w", err)
	}
	b, err := c.Network().GetContract("_lifecycle").EvaluateWithContext(ctx, "QueryChaincodeDefinition",
		client.WithBytesArguments(arg))
	if err != nil {
		return nil, fmt.Errorf("query chaincode definition %s: %w", name, err)
	}
	var def lifecycle.QueryChaincodeDefinitionResult
	if err := proto.Unmarshal(b, &def); err != nil {
		return nil, fmt.Errorf("decode chaincode definition: %w", err)
	}
	return &def, nil
}
