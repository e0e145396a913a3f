package stubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// attrOID is the certificate extension in which Fabric CA stores attributes
// (attrmgr.AttrOID), read by cid.GetAttributeValue.
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Identity is an X.509 client identity of an MSP: a P-256 key and a
// self-signed certificate.
type Identity struct {
	MSPID   string            // the MSP the identity belongs to
	Cert    *x509.Certificate // the self-signed certificate
	CertPEM []byte            // Cert, PEM-encoded, as carried in the creator
	Key     *ecdsa.PrivateKey // the certificate's private key
}

type identityConfig struct {
	ous   []string
	attrs map[string]string
}

// IdentityOption customises NewIdentity.
type IdentityOption func(*identityConfig)

// WithOU sets the certificate's organizational units, which Fabric uses as
// node OUs ("client", "admin", "peer", "orderer"). The default is "client".
func WithOU(ous ...string) IdentityOption {
	return func(c *identityConfig) { c.ous = append([]string(nil), ous...) }
}

// WithAttributes adds Fabric CA attributes to the certificate, readable with
// cid.GetAttributeValue.
func WithAttributes(attrs map[string]string) IdentityOption {
	return func(c *identityConfig) {
		c.attrs = make(map[string]string, len(attrs))
		for k, v := range attrs {
			c.attrs[k] = v
		}
	}
}

// NewIdentity creates an identity of mspID with the given common name: a new
// ECDSA P-256 key and a self-signed certificate with OU "client" unless
// WithOU says otherwise.
func NewIdentity(mspID, commonName string, opts ...IdentityOption) (*Identity, error) {
	if mspID == "" {
		return nil, errors.New("msp id must not be empty")
	}
	cfg := identityConfig{ous: []string{"client"}}
	for _, o := range opts {
		o(&cfg)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         commonName,
			Organization:       []string{mspID},
			OrganizationalUnit: cfg.ous,
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if cfg.attrs != nil {
		buf, err := json.Marshal(struct {
			Attrs map[string]string `json:"attrs"`
		}{cfg.attrs})
		if err != nil {
			return nil, fmt.Errorf("encode attributes: %w", err)
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: attrOID, Value: buf})
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return &Identity{
		MSPID:   mspID,
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:     key,
	}, nil
}

// MustIdentity is NewIdentity for tests: it panics on error.
func MustIdentity(mspID, commonName string, opts ...IdentityOption) *Identity {
	id, err := NewIdentity(mspID, commonName, opts...)
	if err != nil {
		panic(fmt.Sprintf("stubtest.MustIdentity: %v", err))
	}
	return id
}

// Creator returns the identity as a transaction creator: a marshalled
// msp.SerializedIdentity holding the MSP ID and the PEM certificate, as the
// stub's GetCreator returns it.
func (id *Identity) Creator() []byte {
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: id.MSPID, IdBytes: id.CertPEM})
	if err != nil {
		// Marshalling two plain fields cannot fail unless the MSP ID is
		// invalid UTF-8; an empty creator then makes cid fail visibly.
		return nil
	}
	return b
}

// Context returns a contract transaction context for stub, with the client
// identity that cid derives from the stub's creator, for calling contract
// methods directly.
func (l *Ledger) Context(stub *Stub) (*contractapi.TransactionContext, error) {
	if stub == nil || stub.ledger != l {
		return nil, errors.New("stub does not belong to this ledger")
	}
	ci, err := cid.New(stub)
	if err != nil {
		return nil, fmt.Errorf("client identity: %w", err)
	}
	ctx := new(contractapi.TransactionContext)
	ctx.SetStub(stub)
	ctx.SetClientIdentity(ci)
	return ctx, nil
}
