package ledgertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer/lifecycle"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Network is a made-up Fabric network for tests that check signatures: an
// orderer organisation and the four application organisations, each with
// its own root CA and node OUs, and real ECDSA P-256 keys. The blocks it
// builds are the ones Fabric 2.5 writes: a genesis configuration block,
// then blocks signed by the orderer, holding transactions signed by their
// creator and endorsed by peers, with their read-write sets.
type Network struct {
	orgs  map[string]*org
	order []string // application organisations, in configuration order
	mu    sync.Mutex
	nonce int
}

type org struct {
	mspID  string
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	certPM []byte
	nodes  map[string]*Signer // by OU: client, peer, orderer, admin
	crls   [][]byte           // PEM revocation lists, in the MSP configuration
}

// Signer is an identity with its key.
type Signer struct {
	// Serialized is the msp.SerializedIdentity Fabric puts in headers.
	Serialized []byte
	MSPID      string
	key        *ecdsa.PrivateKey
}

// OrdererMSP is the orderer organisation of the test network.
const OrdererMSP = "OrdererMSP"

var (
	netOnce sync.Once
	shared  *Network
)

// Net returns a network shared by the tests of a package (generating keys
// once).
func Net() *Network {
	netOnce.Do(func() { shared = NewNetwork() })
	return shared
}

// NewNetwork generates a network's CAs and node identities.
func NewNetwork() *Network {
	n := &Network{orgs: map[string]*org{}, order: []string{"BureauMSP", "BankMSP", "InsurerMSP", "AuditMSP"}}
	for _, id := range append([]string{OrdererMSP}, n.order...) {
		key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca." + strings.ToLower(id), Organization: []string{id}},
			NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
		der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
		o := &org{mspID: id, key: key, cert: must(x509.ParseCertificate(der)),
			certPM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nodes: map[string]*Signer{}}
		for i, ou := range []string{"client", "peer", "orderer", "admin"} {
			o.nodes[ou] = o.issue(ou+"0."+strings.ToLower(id), []string{ou}, int64(i+2))
		}
		n.orgs[id] = o
	}
	return n
}

func (o *org) issue(cn string, ous []string, serial int64) *Signer {
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: ous},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, o.cert, &key.PublicKey, o.key))
	return newSigner(o.mspID, der, key)
}

func newSigner(mspID string, der []byte, key *ecdsa.PrivateKey) *Signer {
	id := must(proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}))
	return &Signer{Serialized: id, MSPID: mspID, key: key}
}

// Peer is an organisation's peer.
func (n *Network) Peer(mspID string) *Signer { return n.orgs[mspID].nodes["peer"] }

// Client is an organisation's client identity.
func (n *Network) Client(mspID string) *Signer { return n.orgs[mspID].nodes["client"] }

// Orderer is the ordering service node that signs blocks.
func (n *Network) Orderer() *Signer { return n.orgs[OrdererMSP].nodes["orderer"] }

// Impostor is an identity that names mspID with the given OU but whose
// certificate is self-signed, not issued by the organisation's CA.
func (n *Network) Impostor(mspID, ou string) *Signer {
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "impostor", OrganizationalUnit: []string{ou}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newSigner(mspID, must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)), key)
}

// Revoke puts a revocation list of the signer's organisation, listing the
// signer's certificate, into the configuration that Genesis writes.
func (n *Network) Revoke(s *Signer) {
	var sid msp.SerializedIdentity
	must(0, proto.Unmarshal(s.Serialized, &sid))
	b, _ := pem.Decode(sid.IdBytes)
	cert := must(x509.ParseCertificate(b.Bytes))
	o := n.orgs[s.MSPID]
	der := must(x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(int64(len(o.crls) + 1)),
		ThisUpdate: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), NextUpdate: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}}},
		o.cert, o.key))
	o.crls = append(o.crls, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// Sign signs msg as Fabric does: ECDSA over its SHA-256, ASN.1, low S.
func (s *Signer) Sign(msg []byte) []byte {
	digest := sha256.Sum256(msg)
	r, sv := must2(ecdsa.Sign(rand.Reader, s.key, digest[:]))
	if half := new(big.Int).Rsh(s.key.Curve.Params().N, 1); sv.Cmp(half) > 0 {
		sv.Sub(s.key.Curve.Params().N, sv)
	}
	return must(asn1.Marshal(struct{ R, S *big.Int }{r, sv}))
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic("ledgertest: " + err.Error())
	}
	return a, b
}

// Role is a principal: an MSP and a role (peer, member, …).
func Role(mspID string, role msp.MSPRole_MSPRoleType) *msp.MSPPrincipal {
	return &msp.MSPPrincipal{PrincipalClassification: msp.MSPPrincipal_ROLE,
		Principal: must(proto.Marshal(&msp.MSPRole{MspIdentifier: mspID, Role: role}))}
}

func signedBy(i int32) *common.SignaturePolicy {
	return &common.SignaturePolicy{Type: &common.SignaturePolicy_SignedBy{SignedBy: i}}
}

func nOutOf(n int32, rules ...*common.SignaturePolicy) *common.SignaturePolicy {
	return &common.SignaturePolicy{Type: &common.SignaturePolicy_NOutOf_{NOutOf: &common.SignaturePolicy_NOutOf{N: n, Rules: rules}}}
}

// EndorsementPolicy is the network's chaincode endorsement policy,
// AND('BureauMSP.peer', OR('BankMSP.peer', 'InsurerMSP.peer')).
func EndorsementPolicy() *common.SignaturePolicyEnvelope {
	return &common.SignaturePolicyEnvelope{
		Rule:       nOutOf(2, signedBy(0), nOutOf(1, signedBy(1), signedBy(2))),
		Identities: []*msp.MSPPrincipal{Role("BureauMSP", msp.MSPRole_PEER), Role("BankMSP", msp.MSPRole_PEER), Role("InsurerMSP", msp.MSPRole_PEER)},
	}
}

func signaturePolicy(env *common.SignaturePolicyEnvelope) *common.ConfigPolicy {
	return &common.ConfigPolicy{Policy: &common.Policy{Type: int32(common.Policy_SIGNATURE), Value: must(proto.Marshal(env))}}
}

func implicitMeta(rule common.ImplicitMetaPolicy_Rule, sub string) *common.ConfigPolicy {
	return &common.ConfigPolicy{Policy: &common.Policy{Type: int32(common.Policy_IMPLICIT_META),
		Value: must(proto.Marshal(&common.ImplicitMetaPolicy{SubPolicy: sub, Rule: rule}))}}
}

func (o *org) group(endorsement bool) *common.ConfigGroup {
	ou := func(name string) *msp.FabricOUIdentifier {
		return &msp.FabricOUIdentifier{Certificate: o.certPM, OrganizationalUnitIdentifier: name}
	}
	conf := must(proto.Marshal(&msp.FabricMSPConfig{Name: o.mspID, RootCerts: [][]byte{o.certPM}, RevocationList: o.crls,
		CryptoConfig: &msp.FabricCryptoConfig{SignatureHashFamily: "SHA2", IdentityIdentifierHashFunction: "SHA256"},
		FabricNodeOus: &msp.FabricNodeOUs{Enable: true, ClientOuIdentifier: ou("client"), PeerOuIdentifier: ou("peer"),
			AdminOuIdentifier: ou("admin"), OrdererOuIdentifier: ou("orderer")}}))
	member := &common.SignaturePolicyEnvelope{Rule: nOutOf(1, signedBy(0)), Identities: []*msp.MSPPrincipal{Role(o.mspID, msp.MSPRole_MEMBER)}}
	g := &common.ConfigGroup{
		Values:   map[string]*common.ConfigValue{"MSP": {Value: must(proto.Marshal(&msp.MSPConfig{Type: 0, Config: conf}))}},
		Policies: map[string]*common.ConfigPolicy{"Readers": signaturePolicy(member), "Writers": signaturePolicy(member), "Admins": signaturePolicy(member)},
	}
	if endorsement {
		g.Policies["Endorsement"] = signaturePolicy(&common.SignaturePolicyEnvelope{Rule: nOutOf(1, signedBy(0)),
			Identities: []*msp.MSPPrincipal{Role(o.mspID, msp.MSPRole_PEER)}})
	}
	return g
}

// Genesis is block 0: the channel configuration, as configtxgen writes it
// (unsigned), with the policies of network/fabnet's configtx.yaml.
func (n *Network) Genesis() *common.Block {
	app := &common.ConfigGroup{Groups: map[string]*common.ConfigGroup{}, Policies: map[string]*common.ConfigPolicy{
		"Readers": implicitMeta(common.ImplicitMetaPolicy_ANY, "Readers"), "Writers": implicitMeta(common.ImplicitMetaPolicy_ANY, "Writers"),
		"Admins": implicitMeta(common.ImplicitMetaPolicy_MAJORITY, "Admins"), "Endorsement": implicitMeta(common.ImplicitMetaPolicy_MAJORITY, "Endorsement"),
		"LifecycleEndorsement": implicitMeta(common.ImplicitMetaPolicy_MAJORITY, "Endorsement")}}
	for _, id := range n.order {
		app.Groups[id] = n.orgs[id].group(true)
	}
	ord := &common.ConfigGroup{Groups: map[string]*common.ConfigGroup{OrdererMSP: n.orgs[OrdererMSP].group(false)}, Policies: map[string]*common.ConfigPolicy{
		"Readers": implicitMeta(common.ImplicitMetaPolicy_ANY, "Readers"), "Writers": implicitMeta(common.ImplicitMetaPolicy_ANY, "Writers"),
		"Admins": implicitMeta(common.ImplicitMetaPolicy_MAJORITY, "Admins"), "BlockValidation": implicitMeta(common.ImplicitMetaPolicy_ANY, "Writers")}}
	cfg := &common.ConfigEnvelope{Config: &common.Config{ChannelGroup: &common.ConfigGroup{
		Groups: map[string]*common.ConfigGroup{"Application": app, "Orderer": ord}}}}
	ch := must(proto.Marshal(&common.ChannelHeader{Type: int32(common.HeaderType_CONFIG), ChannelId: Channel,
		Timestamp: timestamppb.New(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC))}))
	payload := must(proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: ch, SignatureHeader: must(proto.Marshal(&common.SignatureHeader{}))},
		Data: must(proto.Marshal(cfg))}))
	env := must(proto.Marshal(&common.Envelope{Payload: payload}))
	return assemble(0, nil, [][]byte{env}, []byte{byte(peer.TxValidationCode_VALID)}, nil)
}

// Version is a key's version: the block and transaction that wrote it.
type Version struct{ Block, Tx uint64 }

// Read is a key a transaction read; Version nil means read as absent.
type Read struct {
	Key     string
	Version *Version
}

// Write is a key a transaction wrote.
type Write struct {
	Key    string
	Value  []byte
	Delete bool
}

// SignedTx describes an endorser transaction.
type SignedTx struct {
	Creator   *Signer
	Endorsers []*Signer
	// Chaincode is the chaincode invoked, and the namespace of Reads and
	// Writes.
	Chaincode string
	Args      []string
	Reads     []Read
	Writes    []Write
	// Code is the validation flag the peer sets.
	Code peer.TxValidationCode
}

// Envelope returns the transaction's signed envelope and its id.
func (n *Network) Envelope(tx SignedTx) ([]byte, string) {
	n.mu.Lock()
	n.nonce++
	nonce := []byte(fmt.Sprintf("nonce-%d", n.nonce))
	n.mu.Unlock()
	sum := sha256.Sum256(append(append([]byte(nil), nonce...), tx.Creator.Serialized...))
	txID := hex.EncodeToString(sum[:])
	ch := must(proto.Marshal(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: Channel, TxId: txID,
		Timestamp: timestamppb.New(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))}))
	sh := must(proto.Marshal(&common.SignatureHeader{Creator: tx.Creator.Serialized, Nonce: nonce}))
	args := make([][]byte, len(tx.Args))
	for i, a := range tx.Args {
		args[i] = []byte(a)
	}
	cis := must(proto.Marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		ChaincodeId: &peer.ChaincodeID{Name: tx.Chaincode}, Input: &peer.ChaincodeInput{Args: args}}}))
	cpp := must(proto.Marshal(&peer.ChaincodeProposalPayload{Input: cis}))
	kv := &kvrwset.KVRWSet{}
	for _, r := range tx.Reads {
		rd := &kvrwset.KVRead{Key: r.Key}
		if r.Version != nil {
			rd.Version = &kvrwset.Version{BlockNum: r.Version.Block, TxNum: r.Version.Tx}
		}
		kv.Reads = append(kv.Reads, rd)
	}
	for _, w := range tx.Writes {
		kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: w.Key, Value: w.Value, IsDelete: w.Delete})
	}
	results := must(proto.Marshal(&rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV,
		NsRwset: []*rwset.NsReadWriteSet{{Namespace: tx.Chaincode, Rwset: must(proto.Marshal(kv))}}}))
	action := must(proto.Marshal(&peer.ChaincodeAction{Results: results, Response: &peer.Response{Status: 200},
		ChaincodeId: &peer.ChaincodeID{Name: tx.Chaincode}}))
	h := sha256.New()
	h.Write(ch)
	h.Write(sh)
	h.Write(cpp)
	prp := must(proto.Marshal(&peer.ProposalResponsePayload{ProposalHash: h.Sum(nil), Extension: action}))
	var endorsements []*peer.Endorsement
	for _, e := range tx.Endorsers {
		endorsements = append(endorsements, &peer.Endorsement{Endorser: e.Serialized,
			Signature: e.Sign(append(append([]byte(nil), prp...), e.Serialized...))})
	}
	capl := must(proto.Marshal(&peer.ChaincodeActionPayload{ChaincodeProposalPayload: cpp,
		Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp, Endorsements: endorsements}}))
	data := must(proto.Marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Header: sh, Payload: capl}}}))
	payload := must(proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: ch, SignatureHeader: sh}, Data: data}))
	return must(proto.Marshal(&common.Envelope{Payload: payload, Signature: tx.Creator.Sign(payload)})), txID
}

// Define is the _lifecycle transaction that commits a chaincode
// definition with an endorsement policy, endorsed by a majority of the
// organisations' peers (the channel's LifecycleEndorsement policy).
func (n *Network) Define(chaincode string, policy *common.SignaturePolicyEnvelope) SignedTx {
	ap := must(proto.Marshal(&peer.ApplicationPolicy{Type: &peer.ApplicationPolicy_SignaturePolicy{SignaturePolicy: policy}}))
	vi := must(proto.Marshal(&lifecycle.ChaincodeValidationInfo{ValidationPlugin: "vscc", ValidationParameter: ap}))
	field := func(b []byte) []byte {
		return must(proto.Marshal(&lifecycle.StateData{Type: &lifecycle.StateData_Bytes{Bytes: b}}))
	}
	return SignedTx{Creator: n.Client("BureauMSP"), Chaincode: "_lifecycle", Args: []string{"CommitChaincodeDefinition"},
		Endorsers: []*Signer{n.Peer("BureauMSP"), n.Peer("BankMSP"), n.Peer("InsurerMSP")},
		Reads:     []Read{{Key: "namespaces/metadata/" + chaincode}},
		Writes: []Write{{Key: "namespaces/fields/" + chaincode + "/ValidationInfo", Value: field(vi)},
			{Key: "namespaces/fields/" + chaincode + "/Collections", Value: field(nil)},
			{Key: "namespaces/metadata/" + chaincode, Value: []byte("ChaincodeDefinition")}}}
}

// Block builds block num after prev with the transactions, and signs it
// as the orderer.
func (n *Network) Block(num uint64, prev *common.Block, txs ...SignedTx) *common.Block {
	data := make([][]byte, len(txs))
	flags := make([]byte, len(txs))
	for i, tx := range txs {
		data[i], _ = n.Envelope(tx)
		flags[i] = byte(tx.Code)
	}
	return assemble(num, prev, data, flags, n.Orderer())
}

// Sign (re)signs a block as the orderer, over its current header.
func (n *Network) Sign(b *common.Block) { signBlock(b, n.Orderer()) }

func assemble(num uint64, prev *common.Block, data [][]byte, flags []byte, signer *Signer) *common.Block {
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	dataHash := sha256.Sum256(all)
	h := &common.BlockHeader{Number: num, DataHash: dataHash[:]}
	if prev != nil {
		h.PreviousHash = HeaderHash(prev.Header)
	}
	b := &common.Block{Header: h, Data: &common.BlockData{Data: data},
		Metadata: &common.BlockMetadata{Metadata: [][]byte{{}, {}, flags, {}, {}}}}
	if signer != nil {
		signBlock(b, signer)
	}
	return b
}

func signBlock(b *common.Block, signer *Signer) {
	value := must(proto.Marshal(&common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: 0}}))
	sh := must(proto.Marshal(&common.SignatureHeader{Creator: signer.Serialized, Nonce: []byte(fmt.Sprintf("block-%d", b.Header.Number))}))
	msg := append(append(append([]byte(nil), value...), sh...), HeaderDER(b.Header)...)
	b.Metadata.Metadata[common.BlockMetadataIndex_SIGNATURES] = must(proto.Marshal(&common.Metadata{Value: value,
		Signatures: []*common.MetadataSignature{{SignatureHeader: sh, Signature: signer.Sign(msg)}}}))
}

// Chain builds the genesis block, then one block for each list of
// transactions.
func (n *Network) Chain(blocks ...[]SignedTx) []*common.Block {
	out := []*common.Block{n.Genesis()}
	for i, txs := range blocks {
		out = append(out, n.Block(uint64(i+1), out[i], txs...))
	}
	return out
}

// AnchorTx is a valid call of the network's chaincode writing key,
// created by the operator and endorsed as the policy requires.
func (n *Network) AnchorTx(key string) SignedTx {
	return SignedTx{Creator: n.Client("BureauMSP"), Endorsers: []*Signer{n.Peer("BureauMSP"), n.Peer("BankMSP")},
		Chaincode: Chaincode, Args: []string{"anchor:AnchorRecord", "tax", strings.Repeat("ab", 32)},
		Reads: []Read{{Key: key}}, Writes: []Write{{Key: key, Value: []byte(`{"category":"tax"}`)}}}
}

// SignedChain is a valid chain of size blocks: the genesis block, the
// chaincode definition, then one anchoring per block.
func (n *Network) SignedChain(size int) []*common.Block {
	blocks := [][]SignedTx{{n.Define(Chaincode, EndorsementPolicy())}}
	for i := 2; i < size; i++ {
		blocks = append(blocks, []SignedTx{n.AnchorTx(fmt.Sprintf("\x00anchor\x00%04d\x00", i))})
	}
	return n.Chain(blocks...)
}

// ConfigBlock is block num after prev carrying next's channel
// configuration (a configuration update that replaces every organisation's
// CA, the orderer's included), submitted and ordered by n's orderer.
func (n *Network) ConfigBlock(num uint64, prev *common.Block, next *Network) *common.Block {
	var genesis common.Envelope
	must(0, proto.Unmarshal(next.Genesis().Data.Data[0], &genesis))
	var payload common.Payload
	must(0, proto.Unmarshal(genesis.Payload, &payload))
	payload.Header.SignatureHeader = must(proto.Marshal(&common.SignatureHeader{Creator: n.Orderer().Serialized, Nonce: []byte(fmt.Sprintf("config-%d", num))}))
	raw := must(proto.Marshal(&payload))
	env := must(proto.Marshal(&common.Envelope{Payload: raw, Signature: n.Orderer().Sign(raw)}))
	return assemble(num, prev, [][]byte{env}, []byte{byte(peer.TxValidationCode_VALID)}, n.Orderer())
}
