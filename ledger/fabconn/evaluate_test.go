package fabconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
)

// discovering is a Fabric Gateway service whose discovery finds the
// named organisation's peer only after a few evaluations.
type discovering struct {
	gateway.UnimplementedGatewayServer
	mu      sync.Mutex
	blind   int // evaluations answered "no peers available" first
	targets [][]string
	fns     []string
}

func (d *discovering) Evaluate(_ context.Context, in *gateway.EvaluateRequest) (*gateway.EvaluateResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.targets = append(d.targets, in.GetTargetOrganizations())
	var prop peer.Proposal
	var hdr peer.ChaincodeProposalPayload
	var spec peer.ChaincodeInvocationSpec
	_ = proto.Unmarshal(in.GetProposedTransaction().GetProposalBytes(), &prop)
	_ = proto.Unmarshal(prop.GetPayload(), &hdr)
	_ = proto.Unmarshal(hdr.GetInput(), &spec)
	args := spec.GetChaincodeSpec().GetInput().GetArgs()
	if len(args) > 0 {
		d.fns = append(d.fns, spec.GetChaincodeSpec().GetChaincodeId().GetName()+" "+string(args[0]))
	}
	if d.blind > 0 {
		d.blind--
		return nil, status.Error(codes.Unavailable, "no peers available to evaluate chaincode qscc in channel quanchain")
	}
	return &gateway.EvaluateResponse{Result: &peer.Response{Status: 200, Payload: []byte("ok")}}, nil
}

// connect serves g in memory and returns a Connection as AuditMSP to it.
func connect(t *testing.T, g gateway.GatewayServer) *Connection {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	gateway.RegisterGatewayServer(srv, g)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "User1@audit"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	id, err := identity.NewX509Identity("AuditMSP", cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(cc))
	if err != nil {
		t.Fatal(err)
	}
	conn := &Connection{Gateway: gw, ClientConn: cc, Org: OrgProfile{MSPID: "AuditMSP"}, Channel: "quanchain", Chaincode: "quanchain"}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestEvaluateGoesToOneOrganisationsPeer(t *testing.T) {
	g := &discovering{blind: 2}
	conn := connect(t, g)
	ctx := context.Background()
	out, err := conn.Evaluate(ctx, "BankMSP", "qscc", "GetChainInfo", "quanchain")
	if err != nil || string(out) != "ok" {
		t.Fatalf("evaluate: %q %v", out, err)
	}
	if _, err := conn.Evaluate(ctx, "", "quanchain", "consent:GetAuthorization", "auth-1"); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// Two answers "no peers available" while discovery settles, then the
	// evaluation; then one on the connected organisation's own peer.
	if len(g.targets) != 4 {
		t.Fatalf("%d evaluations, want 4", len(g.targets))
	}
	for i, want := range []string{"BankMSP", "BankMSP", "BankMSP", "AuditMSP"} {
		if len(g.targets[i]) != 1 || g.targets[i][0] != want {
			t.Errorf("evaluation %d went to %v, want %s only", i, g.targets[i], want)
		}
	}
	if g.fns[0] != "qscc GetChainInfo" || g.fns[3] != "quanchain consent:GetAuthorization" {
		t.Errorf("functions %q", g.fns)
	}
}

func TestEvaluateStopsWaitingWithItsContext(t *testing.T) {
	conn := connect(t, &discovering{blind: 1 << 30})
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Evaluate(ctx, "BankMSP", "qscc", "GetChainInfo", "quanchain")
	if c := status.Code(err); (c != codes.Unavailable && c != codes.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}
