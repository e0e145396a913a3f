package chain

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// orgMSP is one organisation's membership service provider as the channel
// configuration defines it: its root and intermediate CAs, its admins, its
// revoked certificates and its node OUs. It decides, as Fabric's X.509 MSP
// (msp/mspimpl.go) does, whether a certificate is a valid identity of the
// organisation and which role it has.
type orgMSP struct {
	id            string
	roots         *x509.CertPool
	intermediates *x509.CertPool
	admins        [][]byte // DER
	crls          []*x509.RevocationList
	nodeOUs       bool
	ous           map[msp.MSPRole_MSPRoleType]string // role → OU name, with node OUs
}

func newOrgMSP(conf *msp.MSPConfig) (*orgMSP, error) {
	if conf.GetType() != 0 { // FABRIC; idemix identities are not checked here
		return nil, fmt.Errorf("MSP type %d is not an X.509 MSP", conf.GetType())
	}
	var fc msp.FabricMSPConfig
	if err := proto.Unmarshal(conf.GetConfig(), &fc); err != nil {
		return nil, fmt.Errorf("MSP config: %w", err)
	}
	if h := fc.GetCryptoConfig().GetSignatureHashFamily(); h != "" && h != "SHA2" {
		return nil, fmt.Errorf("MSP %s: signature hash family %s is not supported", fc.GetName(), h)
	}
	m := &orgMSP{id: fc.GetName(), roots: x509.NewCertPool(), intermediates: x509.NewCertPool(),
		ous: map[msp.MSPRole_MSPRoleType]string{}}
	for _, p := range fc.GetRootCerts() {
		c, err := parsePEMCert(p)
		if err != nil {
			return nil, fmt.Errorf("MSP %s root certificate: %w", m.id, err)
		}
		m.roots.AddCert(c)
	}
	for _, p := range fc.GetIntermediateCerts() {
		c, err := parsePEMCert(p)
		if err != nil {
			return nil, fmt.Errorf("MSP %s intermediate certificate: %w", m.id, err)
		}
		m.intermediates.AddCert(c)
	}
	for _, p := range fc.GetAdmins() {
		c, err := parsePEMCert(p)
		if err != nil {
			return nil, fmt.Errorf("MSP %s admin certificate: %w", m.id, err)
		}
		m.admins = append(m.admins, c.Raw)
	}
	for _, p := range fc.GetRevocationList() {
		der := p
		if b, _ := pem.Decode(p); b != nil {
			der = b.Bytes
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("MSP %s revocation list: %w", m.id, err)
		}
		m.crls = append(m.crls, crl)
	}
	if n := fc.GetFabricNodeOus(); n.GetEnable() {
		m.nodeOUs = true
		for role, ou := range map[msp.MSPRole_MSPRoleType]*msp.FabricOUIdentifier{
			msp.MSPRole_CLIENT: n.GetClientOuIdentifier(), msp.MSPRole_PEER: n.GetPeerOuIdentifier(),
			msp.MSPRole_ADMIN: n.GetAdminOuIdentifier(), msp.MSPRole_ORDERER: n.GetOrdererOuIdentifier(),
		} {
			if name := ou.GetOrganizationalUnitIdentifier(); name != "" {
				m.ous[role] = name
			}
		}
	}
	return m, nil
}

func parsePEMCert(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// identity is a signer named in a block: its MSP and certificate, checked
// against the MSP of the configuration in force.
type identity struct {
	raw   []byte // the serialized identity, as signed over
	mspID string
	cert  *x509.Certificate
	msp   *orgMSP
}

func (id *identity) String() string {
	if id.cert == nil {
		return id.mspID
	}
	return id.mspID + " (" + id.cert.Subject.CommonName + ")"
}

// identify reads a serialized identity and validates it against its MSP
// in msps: the certificate must chain to the MSP's root CAs through its
// intermediate CAs, not be revoked, not be a CA, and, with node OUs, carry
// exactly one of the client, peer, admin and orderer OUs.
func identify(raw []byte, msps map[string]*orgMSP) (*identity, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(raw, &sid); err != nil {
		return nil, fmt.Errorf("serialized identity: %w", err)
	}
	id := &identity{raw: raw, mspID: sid.GetMspid()}
	cert, err := parsePEMCert(sid.GetIdBytes())
	if err != nil {
		return id, fmt.Errorf("identity of %s: %w", sid.GetMspid(), err)
	}
	id.cert = cert
	m, ok := msps[sid.GetMspid()]
	if !ok {
		return id, fmt.Errorf("%s: MSP %s is not in the channel configuration", id, sid.GetMspid())
	}
	id.msp = m
	if err := m.validate(cert); err != nil {
		return id, fmt.Errorf("%s: %w", id, err)
	}
	return id, nil
}

func (m *orgMSP) validate(cert *x509.Certificate) error {
	if cert.IsCA {
		return errors.New("a CA certificate cannot be an identity")
	}
	// Fabric ignores expiry when it validates a signer of the past: it
	// checks the chain as of the certificate's own start (msp
	// getValidityOptsForCert), and so does this.
	chains, err := cert.Verify(x509.VerifyOptions{Roots: m.roots, Intermediates: m.intermediates,
		CurrentTime: cert.NotBefore.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("certificate does not chain to MSP %s's CAs: %w", m.id, err)
	}
	for _, chain := range chains {
		for i := 0; i+1 < len(chain); i++ {
			if m.revoked(chain[i], chain[i+1]) {
				return fmt.Errorf("certificate %s (serial %s) is revoked by MSP %s", chain[i].Subject.CommonName, chain[i].SerialNumber, m.id)
			}
		}
	}
	if m.nodeOUs {
		n := 0
		for _, ou := range m.ous {
			if slices.Contains(cert.Subject.OrganizationalUnit, ou) {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("certificate has %d of MSP %s's node OUs (client, peer, admin, orderer); it must have exactly one", n, m.id)
		}
	}
	return nil
}

// revoked reports whether one of the MSP's revocation lists, issued by
// issuer, lists cert.
func (m *orgMSP) revoked(cert, issuer *x509.Certificate) bool {
	for _, crl := range m.crls {
		if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return true
			}
		}
	}
	return false
}

// hasRole reports whether a valid identity has an MSP role, as Fabric's
// SatisfiesPrincipal does for a ROLE principal.
func (id *identity) hasRole(mspID string, role msp.MSPRole_MSPRoleType) bool {
	if id.msp == nil || id.mspID != mspID {
		return false
	}
	m := id.msp
	switch role {
	case msp.MSPRole_MEMBER:
		return true
	case msp.MSPRole_ADMIN:
		if slices.ContainsFunc(m.admins, func(a []byte) bool { return bytes.Equal(a, id.cert.Raw) }) {
			return true
		}
	}
	if !m.nodeOUs {
		return false
	}
	ou, ok := m.ous[role]
	return ok && slices.Contains(id.cert.Subject.OrganizationalUnit, ou)
}

// verifySignature checks an ECDSA signature over msg by the identity's
// certificate key, as Fabric's software crypto provider does: SHA-256 of
// the message, an ASN.1 (r, s) signature, s in the lower half of the
// curve's order.
func (id *identity) verifySignature(msg, sig []byte) error {
	pub, ok := id.cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%s: key type %T is not ECDSA", id, id.cert.PublicKey)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
		return fmt.Errorf("%s: the signature is not an ASN.1 ECDSA signature", id)
	}
	half := new(big.Int).Rsh(pub.Curve.Params().N, 1)
	if rs.S.Sign() <= 0 || rs.S.Cmp(half) > 0 {
		return fmt.Errorf("%s: the signature's s is not in the lower half of the curve order", id)
	}
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return fmt.Errorf("%s: the signature does not verify", id)
	}
	return nil
}
