package chain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// channelConfig is the channel configuration in force from one config
// block on: the configuration tree and the MSP of every organisation in it.
type channelConfig struct {
	block uint64
	root  *common.ConfigGroup // the "Channel" group
	msps  map[string]*orgMSP
	// appOrgs maps an application organisation's MSP ID to its group
	// name, for the implicit collections' endorsement policies.
	appOrgs map[string]string
	// orderers are the orderer organisations' MSP IDs.
	orderers []string
	// known caches identities already validated against this
	// configuration's MSPs, by their serialized bytes: the same few
	// creators and endorsers sign most transactions.
	known map[string]identified
}

type identified struct {
	id  *identity
	err error
}

// identify validates a serialized identity against the configuration's
// MSPs (see the package-level identify), once per configuration.
func (c *channelConfig) identify(raw []byte) (*identity, error) {
	if r, ok := c.known[string(raw)]; ok {
		return r.id, r.err
	}
	id, err := identify(raw, c.msps)
	if c.known == nil {
		c.known = map[string]identified{}
	}
	c.known[string(raw)] = identified{id, err}
	return id, err
}

// configFromEnvelope reads the configuration a CONFIG transaction carries.
func configFromEnvelope(payload *common.Payload, block uint64) (*channelConfig, error) {
	var ce common.ConfigEnvelope
	if err := proto.Unmarshal(payload.GetData(), &ce); err != nil {
		return nil, fmt.Errorf("config envelope: %w", err)
	}
	root := ce.GetConfig().GetChannelGroup()
	if root == nil {
		return nil, errors.New("config envelope without a channel group")
	}
	c := &channelConfig{block: block, root: root, msps: map[string]*orgMSP{}, appOrgs: map[string]string{}}
	for _, section := range []string{"Orderer", "Application"} {
		for name, org := range root.GetGroups()[section].GetGroups() {
			v, ok := org.GetValues()["MSP"]
			if !ok {
				continue
			}
			var mc msp.MSPConfig
			if err := proto.Unmarshal(v.GetValue(), &mc); err != nil {
				return nil, fmt.Errorf("%s organisation %s: MSP value: %w", section, name, err)
			}
			m, err := newOrgMSP(&mc)
			if err != nil {
				return nil, fmt.Errorf("%s organisation %s: %w", section, name, err)
			}
			c.msps[m.id] = m
			if section == "Application" {
				c.appOrgs[m.id] = name
			} else {
				c.orderers = append(c.orderers, m.id)
			}
		}
	}
	return c, nil
}

// ordererMSPs lists the orderer organisations' MSPs, for messages.
func (c *channelConfig) ordererMSPs() string {
	ids := slices.Clone(c.orderers)
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// signedData is one signature to check: who, over what.
type signedData struct {
	identity  []byte
	data      []byte
	signature []byte
}

// signers validates each signer against the configuration's MSPs and
// checks its signature; it returns the distinct valid signers and, for
// each signature that did not pass, why. Fabric drops such signatures
// before it evaluates a policy (policies.SignatureSetToValidIdentities).
func (c *channelConfig) signers(sds []signedData) ([]*identity, []error) {
	var ids []*identity
	var bad []error
	for _, sd := range sds {
		id, err := c.identify(sd.identity)
		if err == nil {
			err = id.verifySignature(sd.data, sd.signature)
		}
		if err != nil {
			bad = append(bad, err)
			continue
		}
		if !slices.ContainsFunc(ids, func(o *identity) bool { return bytes.Equal(o.raw, id.raw) }) {
			ids = append(ids, id)
		}
	}
	return ids, bad
}

// evalPath evaluates the configuration policy at an absolute path such as
// /Channel/Orderer/BlockValidation.
func (c *channelConfig) evalPath(path string, ids []*identity) (bool, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "Channel" {
		return false, fmt.Errorf("policy path %s is not under /Channel", path)
	}
	g := c.root
	for _, name := range parts[1 : len(parts)-1] {
		if g = g.GetGroups()[name]; g == nil {
			return false, fmt.Errorf("policy %s: no group %s in the channel configuration", path, name)
		}
	}
	p, ok := g.GetPolicies()[parts[len(parts)-1]]
	if !ok {
		return false, fmt.Errorf("policy %s is not in the channel configuration", path)
	}
	return c.evalPolicy(g, p.GetPolicy(), ids)
}

func (c *channelConfig) hasPolicy(path string) bool {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	g := c.root
	for _, name := range parts[1 : len(parts)-1] {
		if g = g.GetGroups()[name]; g == nil {
			return false
		}
	}
	_, ok := g.GetPolicies()[parts[len(parts)-1]]
	return ok
}

// evalPolicy evaluates a policy of group g: a signature policy, or an
// implicit meta policy over g's subgroups (Fabric common/policies).
func (c *channelConfig) evalPolicy(g *common.ConfigGroup, p *common.Policy, ids []*identity) (bool, error) {
	switch common.Policy_PolicyType(p.GetType()) {
	case common.Policy_SIGNATURE:
		var env common.SignaturePolicyEnvelope
		if err := proto.Unmarshal(p.GetValue(), &env); err != nil {
			return false, fmt.Errorf("signature policy: %w", err)
		}
		return evalSignaturePolicy(&env, ids)
	case common.Policy_IMPLICIT_META:
		var im common.ImplicitMetaPolicy
		if err := proto.Unmarshal(p.GetValue(), &im); err != nil {
			return false, fmt.Errorf("implicit meta policy: %w", err)
		}
		subs := g.GetGroups()
		threshold := 0
		switch im.GetRule() {
		case common.ImplicitMetaPolicy_ANY:
			threshold = 1
		case common.ImplicitMetaPolicy_ALL:
			threshold = len(subs)
		case common.ImplicitMetaPolicy_MAJORITY:
			threshold = len(subs)/2 + 1
		}
		if len(subs) == 0 {
			threshold = 0 // Fabric: no subgroup, no signature needed
		}
		met := 0
		for _, sub := range subs {
			sp, ok := sub.GetPolicies()[im.GetSubPolicy()]
			if !ok {
				continue // a missing sub-policy rejects
			}
			ok, err := c.evalPolicy(sub, sp.GetPolicy(), ids)
			if err != nil {
				return false, err
			}
			if ok {
				met++
			}
		}
		return met >= threshold, nil
	}
	return false, fmt.Errorf("policy type %d is not supported", p.GetType())
}

// evalApplicationPolicy evaluates a chaincode's or a collection's
// endorsement policy: a signature policy, or a reference to a policy of
// the channel configuration.
func (c *channelConfig) evalApplicationPolicy(ap *peer.ApplicationPolicy, ids []*identity) (bool, error) {
	switch t := ap.GetType().(type) {
	case *peer.ApplicationPolicy_SignaturePolicy:
		return evalSignaturePolicy(t.SignaturePolicy, ids)
	case *peer.ApplicationPolicy_ChannelConfigPolicyReference:
		return c.evalPath(t.ChannelConfigPolicyReference, ids)
	}
	return false, errors.New("empty application policy")
}

// evalSignaturePolicy evaluates a signature policy as Fabric's cauthdsl
// does: each signer counts for at most one principal, and an n-out-of
// takes, in order, each sub-rule that can still be met with the signers
// left.
func evalSignaturePolicy(env *common.SignaturePolicyEnvelope, ids []*identity) (bool, error) {
	used := make([]bool, len(ids))
	return evalRule(env.GetRule(), env.GetIdentities(), ids, used)
}

func evalRule(r *common.SignaturePolicy, principals []*msp.MSPPrincipal, ids []*identity, used []bool) (bool, error) {
	switch t := r.GetType().(type) {
	case *common.SignaturePolicy_SignedBy:
		if t.SignedBy < 0 || int(t.SignedBy) >= len(principals) {
			return false, fmt.Errorf("signature policy names principal %d of %d", t.SignedBy, len(principals))
		}
		for i, id := range ids {
			if used[i] {
				continue
			}
			ok, err := satisfies(id, principals[t.SignedBy])
			if err != nil {
				return false, err
			}
			if ok {
				used[i] = true
				return true, nil
			}
		}
		return false, nil
	case *common.SignaturePolicy_NOutOf_:
		met := int32(0)
		trial := make([]bool, len(used))
		for _, sub := range t.NOutOf.GetRules() {
			copy(trial, used)
			ok, err := evalRule(sub, principals, ids, trial)
			if err != nil {
				return false, err
			}
			if ok {
				met++
				copy(used, trial)
			}
		}
		return met >= t.NOutOf.GetN(), nil
	}
	return false, errors.New("empty signature policy rule")
}

// satisfies reports whether a valid identity matches a principal.
func satisfies(id *identity, p *msp.MSPPrincipal) (bool, error) {
	switch p.GetPrincipalClassification() {
	case msp.MSPPrincipal_ROLE:
		var role msp.MSPRole
		if err := proto.Unmarshal(p.GetPrincipal(), &role); err != nil {
			return false, fmt.Errorf("role principal: %w", err)
		}
		return id.hasRole(role.GetMspIdentifier(), role.GetRole()), nil
	case msp.MSPPrincipal_IDENTITY:
		var sid msp.SerializedIdentity
		if err := proto.Unmarshal(p.GetPrincipal(), &sid); err != nil {
			return false, fmt.Errorf("identity principal: %w", err)
		}
		want, err := parsePEMCert(sid.GetIdBytes())
		return err == nil && sid.GetMspid() == id.mspID && bytes.Equal(want.Raw, id.cert.Raw), nil
	case msp.MSPPrincipal_ORGANIZATION_UNIT:
		var ou msp.OrganizationUnit
		if err := proto.Unmarshal(p.GetPrincipal(), &ou); err != nil {
			return false, fmt.Errorf("OU principal: %w", err)
		}
		return ou.GetMspIdentifier() == id.mspID && slices.Contains(id.cert.Subject.OrganizationalUnit, ou.GetOrganizationalUnitIdentifier()), nil
	}
	return false, fmt.Errorf("principal classification %s is not supported", p.GetPrincipalClassification())
}

// describePolicy writes a signature policy in Fabric's policy language,
// e.g. AND('BureauMSP.peer', OR('BankMSP.peer', 'InsurerMSP.peer')).
func describePolicy(ap *peer.ApplicationPolicy) string {
	switch t := ap.GetType().(type) {
	case *peer.ApplicationPolicy_ChannelConfigPolicyReference:
		return t.ChannelConfigPolicyReference
	case *peer.ApplicationPolicy_SignaturePolicy:
		return describeRule(t.SignaturePolicy.GetRule(), t.SignaturePolicy.GetIdentities())
	}
	return "(none)"
}

func describeRule(r *common.SignaturePolicy, principals []*msp.MSPPrincipal) string {
	switch t := r.GetType().(type) {
	case *common.SignaturePolicy_SignedBy:
		if t.SignedBy < 0 || int(t.SignedBy) >= len(principals) {
			return "?"
		}
		p := principals[t.SignedBy]
		if p.GetPrincipalClassification() == msp.MSPPrincipal_ROLE {
			var role msp.MSPRole
			if proto.Unmarshal(p.GetPrincipal(), &role) == nil {
				return fmt.Sprintf("'%s.%s'", role.GetMspIdentifier(), strings.ToLower(role.GetRole().String()))
			}
		}
		return "'" + p.GetPrincipalClassification().String() + "'"
	case *common.SignaturePolicy_NOutOf_:
		subs := make([]string, len(t.NOutOf.GetRules()))
		for i, s := range t.NOutOf.GetRules() {
			subs[i] = describeRule(s, principals)
		}
		switch int(t.NOutOf.GetN()) {
		case len(subs):
			return "AND(" + strings.Join(subs, ", ") + ")"
		case 1:
			return "OR(" + strings.Join(subs, ", ") + ")"
		}
		return fmt.Sprintf("OutOf(%d, %s)", t.NOutOf.GetN(), strings.Join(subs, ", "))
	}
	return "?"
}
