package ledgerclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/ledgerclient"
	"github.com/quanchain/quanchain/cli/internal/ledgerclient/ledgertest"
)

// gatewayError builds an error as the Fabric Gateway returns it: a gRPC
// status whose details carry each peer's message.
func gatewayError(msp, msg string) error {
	st, _ := status.New(codes.Aborted, "failed to evaluate transaction, see attached details for more info").
		WithDetails(&gateway.ErrorDetail{Address: "127.0.0.1:9051", MspId: msp, Message: msg})
	return st.Err()
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     model.Code
		notFound bool
		text     string
	}{
		{"chaincode code in the details", gatewayError("AuditMSP", "chaincode response 500, AUTH_NOT_FOUND: authorisation x does not exist"),
			model.CodeAuthNotFound, true, "consent:GetAuthorization: AUTH_NOT_FOUND: authorisation x does not exist"},
		{"chaincode code in the message", errors.New("evaluate: chaincode response 500, INVALID_ARGUMENT: status \"X\" is not an authorisation status"),
			model.CodeInvalidArgument, false, "INVALID_ARGUMENT: status"},
		{"qscc unknown block, from another peer", gatewayError("BankMSP", "chaincode response 500, Failed to get block number 9, error no such block number [9] in index"),
			"", true, "BankMSP (127.0.0.1:9051): chaincode response 500, Failed to get block number 9"},
		{"qscc unknown transaction", errors.New("chaincode response 500, Failed to get transaction with id x, error no such transaction ID [x] in index"),
			"", true, "no such transaction ID"},
		{"access denied", gatewayError("AuditMSP", "access denied: channel [quanchain] creator org unknown"), "", false, "access denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := ledgertest.NewFake(nil)
			fake.On("consent:GetAuthorization", func([]string) (any, error) { return nil, tc.err })
			_, err := fake.Client().GetAuthorization(context.Background(), "x")
			var e *ledgerclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v", err, err)
			}
			if e.Code != tc.code || e.NotFound() != tc.notFound || !strings.Contains(e.Error(), tc.text) {
				t.Fatalf("code %q notFound %v text %q", e.Code, e.NotFound(), e.Error())
			}
			if !errors.Is(err, tc.err) {
				t.Error("the transport's error is not wrapped")
			}
		})
	}
	// Context errors stay context errors.
	fake := ledgertest.NewFake(nil)
	fake.On("registry:History", func([]string) (any, error) { return nil, context.DeadlineExceeded })
	if _, err := fake.Client().History(context.Background(), "auth", "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestListingsFollowBookmarks(t *testing.T) {
	fake := ledgertest.NewFake(nil)
	var bookmarks []string
	fake.On("access:ListAccessesByRequester", func(args []string) (any, error) {
		// msp, since, until, size, bookmark
		if args[0] != "BankMSP" || args[1] != "2026-11-01T00:00:00.000Z" || args[2] != "" || args[3] != "100" {
			return nil, fmt.Errorf("args %q", args)
		}
		bookmarks = append(bookmarks, args[4])
		switch args[4] {
		case "":
			return model.Page[model.Access]{Items: []model.Access{{ID: "a1"}, {ID: "a2"}}, Bookmark: "b1"}, nil
		case "b1": // a filtered listing may return an empty page with a bookmark
			return model.Page[model.Access]{Items: []model.Access{}, Bookmark: "b2"}, nil
		default:
			return model.Page[model.Access]{Items: []model.Access{{ID: "a3"}}}, nil
		}
	})
	got, err := fake.Client().AccessesByRequester(context.Background(), "BankMSP", "2026-11-01T00:00:00.000Z", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].ID != "a3" || strings.Join(bookmarks, ",") != ",b1,b2" {
		t.Fatalf("items %+v after bookmarks %q", got, bookmarks)
	}
}

func TestQSCCRequests(t *testing.T) {
	fake := ledgertest.NewFake(ledgertest.SimpleChain(3))
	c := fake.Client()
	ctx := context.Background()
	if _, err := c.Block(ctx, "BankMSP", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChainInfo(ctx, ""); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if got := calls[0]; got.Chaincode != "qscc" || got.Transaction != "GetBlockByNumber" || got.Org != "BankMSP" ||
		strings.Join(got.Args, " ") != "quanchain 2" {
		t.Errorf("block request %+v", got)
	}
	if got := calls[1]; got.Transaction != "GetChainInfo" || got.Org != "" || strings.Join(got.Args, " ") != "quanchain" {
		t.Errorf("chain info request %+v", got)
	}
	_, err := c.Block(ctx, "", 3)
	var e *ledgerclient.Error
	if !errors.As(err, &e) || !e.NotFound() {
		t.Fatalf("block beyond the height: %v", err)
	}
}
