package stubtest_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/stubtest"
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
	if err != nil {
		t.Fatalf("NewChaincode: %v", err)
	}

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
			if resp.Status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.Status, resp.Message, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				if resp.Message != tc.wantMsg {
					t.Errorf("resp.Message = %v, want %v", resp.Message, tc.wantMsg)
				}
				if ws := stub.WriteSet(); len(ws) != 0 {
					t.Errorf("a failed transaction wrote %v", ws)
				}
				return
			}
			if got := string(resp.Payload); got != tc.wantBody {
				t.Errorf("string(resp.Payload) = %v, want %v", got, tc.wantBody)
			}
			if err := stub.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}
		})
	}
	if got := l.Get("c"); !bytes.Equal(got, []byte("2")) {
		t.Errorf(`l.Get("c") = %q, want %q`, got, []byte("2"))
	}
	if got := l.Events(); len(got) != 2 {
		t.Errorf("l.Events(): %d items, want %d", len(got), 2)
	}

	// Calling a contract method directly through a transaction context.
	stub := l.NewTx("direct", t0, bank.Creator(), "counter:Increment", "c")
	ctx, err := l.Context(stub)
	if err != nil {
		t.Fatalf("Context: %v", err)
	}
	n, err := contract.Increment(ctx, "c")
	if err != nil {
		t.Fatalf("Increment: %v", err)
	}
	if n != 3 {
		t.Errorf("n = %v, want %v", n, 3)
	}
	if err := stub.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := l.Get("c"); !bytes.Equal(got, []byte("3")) {
		t.Errorf(`l.Get("c") = %q, want %q`, got, []byte("3"))
	}
}
