package stubtest_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quanchain/quanchain/chaincode/internal/stubtest"
)

// counterContract is a minimal contract used to prove that contractapi can
// dispatch through the fake stub.
type counterContract struct {
	contractapi.Contract
}

// Increment adds one to the counter at key and emits an event.
func (c *counterContract) Increment(ctx contractapi.TransactionContextInterface, key string) (int, error) {
	b, err := ctx.GetStub().GetState(key)
	if err != nil {
		return 0, err
	}
	n := 0
	if b != nil {
		if n, err = strconv.Atoi(string(b)); err != nil {
			return 0, err
		}
	}
	n++
	if err := ctx.GetStub().PutState(key, []byte(strconv.Itoa(n))); err != nil {
		return 0, err
	}
	return n, ctx.GetStub().SetEvent("Incremented", []byte(key))
}

// Whoami returns the caller's MSP ID.
func (c *counterContract) Whoami(ctx contractapi.TransactionContextInterface) (string, error) {
	return ctx.GetClientIdentity().GetMSPID()
}

// Fail always fails.
func (c *counterContract) Fail(contractapi.TransactionContextInterface) error {
	return errors.New("E_TEST: always fails")
}

func TestContractAPIDispatch(t *testing.T) {
	contract := new(counterContract)
	contract.Name = "counter"
	cc, err := contractapi.NewChaincode(contract)
	require.NoError(t, err)

	l := stubtest.NewLedger("ch")
	bank := stubtest.MustIdentity("BankMSP", "teller1")
	tests := []struct {
		name       string
		fn         string
		args       []string
		wantStatus int32
		wantBody   string
		wantMsg    string
	}{
		{name: "first increment", fn: "counter:Increment", args: []string{"c"}, wantStatus: 200, wantBody: "1"},
		{name: "second increment sees the first", fn: "counter:Increment", args: []string{"c"}, wantStatus: 200, wantBody: "2"},
		{name: "client identity", fn: "counter:Whoami", wantStatus: 200, wantBody: "BankMSP"},
		{name: "error", fn: "counter:Fail", wantStatus: 500, wantMsg: "E_TEST: always fails"},
		{name: "unknown function", fn: "counter:Nope", wantStatus: 500, wantMsg: `Function Nope not found in contract counter`},
		{name: "missing argument", fn: "counter:Increment", wantStatus: 500, wantMsg: "incorrect number of params. Expected 1, received 0"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := l.NewTx("tx"+strconv.Itoa(i), t0, bank.Creator(), tc.fn, tc.args...)
			resp := cc.Invoke(stub)
			require.Equal(t, tc.wantStatus, resp.Status, resp.Message)
			if tc.wantStatus != 200 {
				assert.Equal(t, tc.wantMsg, resp.Message)
				assert.Empty(t, stub.WriteSet())
				return
			}
			assert.Equal(t, tc.wantBody, string(resp.Payload))
			require.NoError(t, stub.Commit())
		})
	}
	assert.Equal(t, []byte("2"), l.Get("c"))
	assert.Len(t, l.Events(), 2)

	// Calling a contract method directly through a transaction context.
	stub := l.NewTx("direct", t0, bank.Creator(), "counter:Increment", "c")
	ctx, err := l.Context(stub)
	require.NoError(t, err)
	n, err := contract.Increment(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	require.NoError(t, stub.Commit())
	assert.Equal(t, []byte("3"), l.Get("c"))
}
