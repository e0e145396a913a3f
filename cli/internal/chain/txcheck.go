package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// verdict is what the replay finds a transaction should have been
// flagged: VALID, or the code of the first check it fails, in the order
// Fabric's committing peer runs them (message checks and the creator's
// signature, the transaction id, the endorsement policy, then MVCC).
type verdict struct {
	code   peer.TxValidationCode
	check  Check  // for an invalid code: the check that decided it
	reason string // for an invalid code: why
	txID   string
	// stage1 is true when every check before MVCC passed: the code is
	// VALID or MVCC_READ_CONFLICT.
	stage1 bool
	// mvccOK says, for a transaction that passed stage 1, that every read
	// matched the committed versions.
	mvccOK  bool
	mvccWhy string // the first read that did not match
	// badEndorsements are the endorsements whose signature or identity
	// does not check; Fabric drops them before evaluating the policy.
	badEndorsements []error
	nsRW            []nsRW
	config          *channelConfig // a configuration transaction's new configuration
}

// nsRW is one namespace's decoded read-write set.
type nsRW struct {
	ns     string
	kv     *kvrwset.KVRWSet
	hashed []collRW
}

type collRW struct {
	coll string
	rw   *kvrwset.HashedRWSet
}

func invalid(code peer.TxValidationCode, check Check, format string, args ...any) *verdict {
	return &verdict{code: code, check: check, reason: fmt.Sprintf(format, args...)}
}

// judge derives the verdict of a transaction of block n.
func (r *replay) judge(n uint64, raw []byte) (v *verdict) {
	var ch common.ChannelHeader
	defer func() {
		if v.txID == "" {
			v.txID = ch.GetTxId()
		}
	}()
	var env common.Envelope
	if err := proto.Unmarshal(raw, &env); err != nil {
		return invalid(peer.TxValidationCode_BAD_PAYLOAD, CheckTransaction, "the envelope does not decode: %v", err)
	}
	var payload common.Payload
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil || payload.GetHeader() == nil {
		return invalid(peer.TxValidationCode_BAD_PAYLOAD, CheckTransaction, "the payload does not decode")
	}
	var sh common.SignatureHeader
	if proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch) != nil || proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), &sh) != nil {
		return invalid(peer.TxValidationCode_BAD_COMMON_HEADER, CheckTransaction, "the headers do not decode")
	}
	typ := common.HeaderType(ch.GetType())
	if r.cfg == nil {
		// The genesis block: its configuration is the trust anchor, and
		// nobody signs it.
		if typ != common.HeaderType_CONFIG {
			return invalid(peer.TxValidationCode_UNKNOWN_TX_TYPE, CheckConfig, "the first block holds a %s transaction, not the channel configuration", typ)
		}
		cfg, err := configFromEnvelope(&payload, n)
		if err != nil {
			return invalid(peer.TxValidationCode_BAD_PAYLOAD, CheckConfig, "the channel configuration does not decode: %v", err)
		}
		r.channel = ch.GetChannelId()
		return &verdict{code: peer.TxValidationCode_VALID, txID: ch.GetTxId(), config: cfg, stage1: true, mvccOK: true}
	}
	v = &verdict{txID: ch.GetTxId()}
	if ch.GetChannelId() != r.channel {
		return invalid(peer.TxValidationCode_TARGET_CHAIN_NOT_FOUND, CheckTransaction, "addressed to channel %q, not %q", ch.GetChannelId(), r.channel)
	}
	creator, err := r.cfg.identify(sh.GetCreator())
	if err == nil {
		err = creator.verifySignature(env.GetPayload(), env.GetSignature())
	}
	if err != nil {
		return invalid(peer.TxValidationCode_BAD_CREATOR_SIGNATURE, CheckCreatorSignature, "%v", err)
	}
	switch typ {
	case common.HeaderType_CONFIG:
		cfg, err := configFromEnvelope(&payload, n)
		if err != nil {
			return invalid(peer.TxValidationCode_BAD_PAYLOAD, CheckConfig, "the channel configuration does not decode: %v", err)
		}
		v.code, v.config, v.stage1, v.mvccOK = peer.TxValidationCode_VALID, cfg, true, true
		return v
	case common.HeaderType_ENDORSER_TRANSACTION:
	default:
		return invalid(peer.TxValidationCode_UNKNOWN_TX_TYPE, CheckTransaction, "transaction type %s is not replayed", typ)
	}
	sum := sha256.Sum256(append(append([]byte(nil), sh.GetNonce()...), sh.GetCreator()...))
	if want := hex.EncodeToString(sum[:]); ch.GetTxId() != want {
		return invalid(peer.TxValidationCode_BAD_PROPOSAL_TXID, CheckTxID, "transaction id %s is not the SHA-256 of its nonce and creator (%s)", ch.GetTxId(), want)
	}
	if at, dup := r.txIDs[ch.GetTxId()]; dup {
		return invalid(peer.TxValidationCode_DUPLICATE_TXID, CheckTxID, "transaction id %s was already used in block %d", ch.GetTxId(), at)
	}
	ea, err := decodeAction(payload.GetData(), payload.GetHeader())
	if err != nil {
		return invalid(peer.TxValidationCode_BAD_PAYLOAD, CheckTransaction, "%v", err)
	}
	v.nsRW = ea.rw
	sds := make([]signedData, len(ea.endorsements))
	for i, e := range ea.endorsements {
		sds[i] = signedData{identity: e.GetEndorser(), signature: e.GetSignature(),
			data: append(append([]byte(nil), ea.prp...), e.GetEndorser()...)}
	}
	ids, bad := r.cfg.signers(sds)
	v.badEndorsements = bad
	if why, err := r.checkPolicies(ea.chaincode, ea.rw, ids); err != nil || why != "" {
		if err != nil {
			why = err.Error()
		}
		if len(bad) > 0 {
			why += fmt.Sprintf(" (%d endorsement(s) dropped: %v)", len(bad), errors.Join(bad...))
		}
		return invalid(peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, CheckEndorsementPolicy, "%s", why)
	}
	v.code, v.stage1 = peer.TxValidationCode_VALID, true
	v.mvccOK, v.mvccWhy = r.checkReads(ea.rw)
	if !v.mvccOK {
		v.code, v.check, v.reason = peer.TxValidationCode_MVCC_READ_CONFLICT, CheckMVCC, v.mvccWhy
	}
	return v
}

// endorsedAction is the decoded action of an endorser transaction.
type endorsedAction struct {
	chaincode    string
	prp          []byte // the proposal response payload the endorsers signed
	endorsements []*peer.Endorsement
	rw           []nsRW
}

func decodeAction(data []byte, hdr *common.Header) (*endorsedAction, error) {
	var tx peer.Transaction
	if err := proto.Unmarshal(data, &tx); err != nil {
		return nil, fmt.Errorf("transaction: %w", err)
	}
	if len(tx.GetActions()) != 1 {
		return nil, fmt.Errorf("%d actions; Fabric accepts exactly one", len(tx.GetActions()))
	}
	var cap peer.ChaincodeActionPayload
	if err := proto.Unmarshal(tx.GetActions()[0].GetPayload(), &cap); err != nil || cap.GetAction() == nil {
		return nil, errors.New("the chaincode action payload does not decode")
	}
	ea := &endorsedAction{prp: cap.GetAction().GetProposalResponsePayload(), endorsements: cap.GetAction().GetEndorsements()}
	var prp peer.ProposalResponsePayload
	if err := proto.Unmarshal(ea.prp, &prp); err != nil {
		return nil, fmt.Errorf("proposal response payload: %w", err)
	}
	// The endorsements are for this proposal: the hash binds them to the
	// headers and to the call (Fabric's GetProposalHash2).
	h := sha256.New()
	h.Write(hdr.GetChannelHeader())
	h.Write(hdr.GetSignatureHeader())
	h.Write(cap.GetChaincodeProposalPayload())
	if !bytes.Equal(h.Sum(nil), prp.GetProposalHash()) {
		return nil, errors.New("the endorsed proposal hash does not match the transaction's headers and call")
	}
	var ca peer.ChaincodeAction
	if err := proto.Unmarshal(prp.GetExtension(), &ca); err != nil {
		return nil, fmt.Errorf("chaincode action: %w", err)
	}
	ea.chaincode = ca.GetChaincodeId().GetName()
	if ea.chaincode == "" {
		return nil, errors.New("the chaincode action names no chaincode")
	}
	var rws rwset.TxReadWriteSet
	if err := proto.Unmarshal(ca.GetResults(), &rws); err != nil {
		return nil, fmt.Errorf("read-write set: %w", err)
	}
	for _, ns := range rws.GetNsRwset() {
		n := nsRW{ns: ns.GetNamespace(), kv: &kvrwset.KVRWSet{}}
		if err := proto.Unmarshal(ns.GetRwset(), n.kv); err != nil {
			return nil, fmt.Errorf("read-write set of %s: %w", n.ns, err)
		}
		for _, c := range ns.GetCollectionHashedRwset() {
			h := &kvrwset.HashedRWSet{}
			if err := proto.Unmarshal(c.GetHashedRwset(), h); err != nil {
				return nil, fmt.Errorf("hashed read-write set of %s/%s: %w", n.ns, c.GetCollectionName(), err)
			}
			n.hashed = append(n.hashed, collRW{coll: c.GetCollectionName(), rw: h})
		}
		ea.rw = append(ea.rw, n)
	}
	return ea, nil
}

// lifecycleNamespace is the namespace of Fabric's chaincode lifecycle.
const lifecycleNamespace = "_lifecycle"

// implicitPrefix starts the name of an organisation's implicit private
// data collection.
const implicitPrefix = "_implicit_org_"

// checkPolicies evaluates the endorsement policies a transaction must
// meet, as Fabric's v20 validation does: the invoked chaincode's and, for
// every namespace written, the chaincode policy for its public writes and
// the collection policy for each collection written. It returns why a
// policy is not met, or "".
func (r *replay) checkPolicies(invoked string, rw []nsRW, ids []*identity) (string, error) {
	written := map[string]*nsRW{invoked: nil}
	order := []string{invoked}
	for i := range rw {
		n := &rw[i]
		if !writes(n) {
			continue
		}
		if _, ok := written[n.ns]; !ok {
			order = append(order, n.ns)
		}
		written[n.ns] = n
	}
	for _, ns := range order {
		n := written[ns]
		checked := false
		if n != nil && (len(n.kv.GetWrites()) > 0 || len(n.kv.GetMetadataWrites()) > 0) {
			if why, err := r.meetsNamespace(ns, ids); why != "" || err != nil {
				return why, err
			}
			checked = true
		}
		if n != nil {
			for _, c := range n.hashed {
				if len(c.rw.GetHashedWrites()) == 0 && len(c.rw.GetMetadataWrites()) == 0 {
					continue
				}
				if why, err := r.meetsCollection(ns, c.coll, ids); why != "" || err != nil {
					return why, err
				}
				checked = true
			}
		}
		if !checked {
			if why, err := r.meetsNamespace(ns, ids); why != "" || err != nil {
				return why, err
			}
		}
	}
	return "", nil
}

func writes(n *nsRW) bool {
	if len(n.kv.GetWrites()) > 0 || len(n.kv.GetMetadataWrites()) > 0 {
		return true
	}
	for _, c := range n.hashed {
		if len(c.rw.GetHashedWrites()) > 0 || len(c.rw.GetMetadataWrites()) > 0 {
			return true
		}
	}
	return false
}

func (r *replay) meetsNamespace(ns string, ids []*identity) (string, error) {
	if ns == lifecycleNamespace {
		return r.meetsPath("/Channel/Application/LifecycleEndorsement", ids)
	}
	def, ok := r.defs[ns]
	if !ok {
		return fmt.Sprintf("chaincode %s has no committed definition", ns), nil
	}
	return r.meets(def.policy, fmt.Sprintf("chaincode %s's endorsement policy %s (defined in block %d)", ns, describePolicy(def.policy), def.block), ids)
}

func (r *replay) meetsCollection(ns, coll string, ids []*identity) (string, error) {
	if mspID, ok := strings.CutPrefix(coll, implicitPrefix); ok {
		org, ok := r.cfg.appOrgs[mspID]
		if !ok {
			return fmt.Sprintf("collection %s: no organisation %s in the channel configuration", coll, mspID), nil
		}
		if p := "/Channel/Application/" + org + "/Endorsement"; r.cfg.hasPolicy(p) {
			return r.meetsPath(p, ids)
		}
		return r.meets(signedByAnyMember(mspID), fmt.Sprintf("collection %s's default policy (any member of %s)", coll, mspID), ids)
	}
	def, ok := r.defs[ns]
	if !ok {
		return fmt.Sprintf("chaincode %s has no committed definition", ns), nil
	}
	for _, c := range def.collections.GetConfig() {
		sc := c.GetStaticCollectionConfig()
		if sc.GetName() != coll {
			continue
		}
		if sc.GetEndorsementPolicy() == nil {
			return r.meetsNamespace(ns, ids)
		}
		ap := sc.GetEndorsementPolicy()
		return r.meets(ap, fmt.Sprintf("collection %s's endorsement policy %s", coll, describePolicy(ap)), ids)
	}
	return fmt.Sprintf("chaincode %s has no collection %s", ns, coll), nil
}

func (r *replay) meetsPath(path string, ids []*identity) (string, error) {
	ok, err := r.cfg.evalPath(path, ids)
	if err != nil || ok {
		return "", err
	}
	return fmt.Sprintf("the endorsements (%s) do not satisfy %s of the channel configuration from block %d", names(ids), path, r.cfg.block), nil
}

func (r *replay) meets(ap *peer.ApplicationPolicy, what string, ids []*identity) (string, error) {
	ok, err := r.cfg.evalApplicationPolicy(ap, ids)
	if err != nil || ok {
		return "", err
	}
	return fmt.Sprintf("the endorsements (%s) do not satisfy %s", names(ids), what), nil
}

func names(ids []*identity) string {
	if len(ids) == 0 {
		return "none valid"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}

func signedByAnyMember(mspID string) *peer.ApplicationPolicy {
	role, _ := proto.Marshal(&msp.MSPRole{MspIdentifier: mspID, Role: msp.MSPRole_MEMBER})
	return &peer.ApplicationPolicy{Type: &peer.ApplicationPolicy_SignaturePolicy{SignaturePolicy: &common.SignaturePolicyEnvelope{
		Rule: &common.SignaturePolicy{Type: &common.SignaturePolicy_NOutOf_{NOutOf: &common.SignaturePolicy_NOutOf{N: 1,
			Rules: []*common.SignaturePolicy{{Type: &common.SignaturePolicy_SignedBy{SignedBy: 0}}}}}},
		Identities: []*msp.MSPPrincipal{{PrincipalClassification: msp.MSPPrincipal_ROLE, Principal: role}},
	}}}
}
