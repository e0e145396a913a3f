package chain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer/lifecycle"
	"google.golang.org/protobuf/proto"
)

// replay re-derives, block by block from the genesis block, what the
// orderers and the committing peers decided, using only what the chain
// itself holds:
//
//   - the channel configuration in force at each block: the genesis
//     block's, replaced at each configuration block. Its MSPs say who may
//     sign; its policies say whose signatures are needed.
//   - each block's orderer signatures, against the configuration's
//     /Channel/Orderer/BlockValidation policy. They cover the header, so a
//     block cannot be rewritten, even with its hashes and every later link
//     recomputed, without an orderer's key.
//   - each transaction's creator signature and endorsements, and the
//     endorsement policies of the chaincodes it invoked and wrote, read
//     from the chaincode definitions the _lifecycle namespace committed.
//   - the multi-version concurrency check: the version (block,
//     transaction) of every key written by a valid transaction, in block
//     order, against the versions each transaction read.
//
// Validation flags are not signed by anyone: the peer writes them. The
// replay derives each flag it can (VALID, BAD_CREATOR_SIGNATURE,
// BAD_PROPOSAL_TXID, DUPLICATE_TXID, ENDORSEMENT_POLICY_FAILURE,
// MVCC_READ_CONFLICT) and reports the first transaction whose flag
// disagrees. Other invalid flags are accepted as they are (counted in
// the report); the writes of invalid transactions are not applied.
type replay struct {
	cfg     *channelConfig
	channel string
	state   map[string]version // committed keys of valid transactions
	txIDs   map[string]uint64  // transaction id → block
	defs    map[string]*ccDefinition
	// last is the last block whose orderer signature checked, and who
	// signed it.
	last    *SignedBlock
	unruled int // invalid flags accepted without being re-derived
}

type version struct{ block, tx uint64 }

func (v version) String() string { return fmt.Sprintf("(block %d, tx %d)", v.block, v.tx) }

// ccDefinition is a chaincode definition committed through _lifecycle.
type ccDefinition struct {
	block       uint64
	policy      *peer.ApplicationPolicy
	collections *peer.CollectionConfigPackage
}

func newReplay() *replay {
	return &replay{state: map[string]version{}, txIDs: map[string]uint64{}, defs: map[string]*ccDefinition{}}
}

// SignedBlock is a block whose orderer signature checked.
type SignedBlock struct {
	Block   uint64   `json:"block"`
	Signers []string `json:"signers"`
}

// block replays one block, already checked for its hashes; src names the
// copy in failures.
func (r *replay) block(b *common.Block, src string) *Failure {
	n := b.GetHeader().GetNumber()
	fail := func(c Check, expected, got string) *Failure {
		return &Failure{Block: n, Check: c, Source: src, Expected: expected, Got: got}
	}
	if r.cfg != nil {
		signers, why := r.checkBlockSignature(b)
		if why != "" {
			return fail(CheckOrdererSignature, fmt.Sprintf("orderer signatures satisfying /Channel/Orderer/BlockValidation of the configuration from block %d (orderer MSPs %s)",
				r.cfg.block, r.cfg.ordererMSPs()), why)
		}
		r.last = &SignedBlock{Block: n, Signers: signers}
	}
	flags := ValidationFlags(b)
	var next *channelConfig
	for i, raw := range b.GetData().GetData() {
		flag := peer.TxValidationCode(flags[i])
		v := r.judge(n, raw)
		if f := r.compare(v, flag); f != nil {
			f.Block, f.Source, f.TxIndex, f.TxID = n, src, &i, v.txID
			return f
		}
		if v.txID != "" {
			if _, seen := r.txIDs[v.txID]; !seen {
				r.txIDs[v.txID] = n
			}
		}
		if flag != peer.TxValidationCode_VALID {
			continue
		}
		if v.config != nil {
			if len(b.GetData().GetData()) != 1 {
				return fail(CheckConfig, "a configuration transaction alone in its block", fmt.Sprintf("%d transactions", len(b.GetData().GetData())))
			}
			next = v.config
		}
		r.apply(v, version{block: n, tx: uint64(i)})
	}
	if next != nil {
		r.cfg = next
	}
	return nil
}

// compare holds a transaction's flag to the verdict of the replay.
func (r *replay) compare(v *verdict, flag peer.TxValidationCode) *Failure {
	switch {
	case v.code == flag:
		if flag == peer.TxValidationCode_VALID && len(v.badEndorsements) > 0 {
			return &Failure{Check: CheckEndorsementSignature, Expected: "every endorsement of a valid transaction signed by a member of the channel",
				Got: v.badEndorsements[0].Error()}
		}
		return nil
	case flag == peer.TxValidationCode_VALID:
		return &Failure{Check: v.check, Expected: "a transaction that passes " + string(v.check) + ", as its flag VALID says", Got: v.reason}
	case !rederived(flag):
		r.unruled++
		return nil
	case flag == peer.TxValidationCode_MVCC_READ_CONFLICT && v.stage1:
		return &Failure{Check: CheckMVCC, Expected: "a read of a key at a version that is no longer the committed one, as its flag MVCC_READ_CONFLICT says",
			Got: "every read matches the committed versions"}
	case flag == peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE && (v.stage1 || v.check == CheckMVCC):
		return &Failure{Check: CheckEndorsementPolicy, Expected: "endorsements that do not satisfy the endorsement policy, as its flag ENDORSEMENT_POLICY_FAILURE says",
			Got: "the endorsements satisfy every policy the transaction needs"}
	}
	got := "VALID"
	if v.code != peer.TxValidationCode_VALID {
		got = v.code.String() + ": " + v.reason
	}
	return &Failure{Check: CheckValidationCode, Expected: "a transaction that fails as its flag " + flag.String() + " says", Got: got}
}

// rederived reports whether the replay derives a flag itself.
func rederived(c peer.TxValidationCode) bool {
	switch c {
	case peer.TxValidationCode_VALID, peer.TxValidationCode_BAD_CREATOR_SIGNATURE, peer.TxValidationCode_BAD_PROPOSAL_TXID,
		peer.TxValidationCode_DUPLICATE_TXID, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, peer.TxValidationCode_MVCC_READ_CONFLICT:
		return true
	}
	return false
}

// checkBlockSignature checks a block's orderer signatures against the
// configuration's BlockValidation policy (Fabric's peer does the same when
// it receives a block: each signature is over the metadata value, the
// signature header and the block header's ASN.1 bytes). It returns the
// valid signers, or why the block is not validly signed.
func (r *replay) checkBlockSignature(b *common.Block) ([]string, string) {
	md := b.GetMetadata().GetMetadata()
	if len(md) <= int(common.BlockMetadataIndex_SIGNATURES) || len(md[common.BlockMetadataIndex_SIGNATURES]) == 0 {
		return nil, "no signature metadata"
	}
	var meta common.Metadata
	if err := proto.Unmarshal(md[common.BlockMetadataIndex_SIGNATURES], &meta); err != nil {
		return nil, fmt.Sprintf("the signature metadata does not decode: %v", err)
	}
	if len(meta.GetSignatures()) == 0 {
		return nil, "no orderer signature"
	}
	header := HeaderBytes(b.GetHeader())
	var sds []signedData
	for _, s := range meta.GetSignatures() {
		var sh common.SignatureHeader
		if len(s.GetSignatureHeader()) == 0 || proto.Unmarshal(s.GetSignatureHeader(), &sh) != nil {
			return nil, "a signature without a signature header (BFT identifier headers are not supported)"
		}
		data := make([]byte, 0, len(meta.GetValue())+len(s.GetSignatureHeader())+len(header))
		data = append(append(append(data, meta.GetValue()...), s.GetSignatureHeader()...), header...)
		sds = append(sds, signedData{identity: sh.GetCreator(), data: data, signature: s.GetSignature()})
	}
	ids, bad := r.cfg.signers(sds)
	ok, err := r.cfg.evalPath("/Channel/Orderer/BlockValidation", ids)
	switch {
	case err != nil:
		return nil, err.Error()
	case !ok && len(bad) > 0:
		return nil, bad[0].Error()
	case !ok:
		return nil, fmt.Sprintf("valid signatures of %s only", names(ids))
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out, ""
}

// apply commits a valid transaction's writes at version at.
func (r *replay) apply(v *verdict, at version) {
	for _, n := range v.nsRW {
		for _, w := range n.kv.GetWrites() {
			k := stateKey(n.ns, "", w.GetKey())
			if w.GetIsDelete() {
				delete(r.state, k)
			} else {
				r.state[k] = at
			}
			if n.ns == lifecycleNamespace {
				r.define(w, at.block)
			}
		}
		for _, w := range n.kv.GetMetadataWrites() {
			if k := stateKey(n.ns, "", w.GetKey()); hasKey(r.state, k) {
				r.state[k] = at
			}
		}
		for _, c := range n.hashed {
			for _, w := range c.rw.GetHashedWrites() {
				k := stateKey(n.ns, c.coll, string(w.GetKeyHash()))
				if w.GetIsDelete() {
					delete(r.state, k)
				} else {
					r.state[k] = at
				}
			}
			for _, w := range c.rw.GetMetadataWrites() {
				if k := stateKey(n.ns, c.coll, string(w.GetKeyHash())); hasKey(r.state, k) {
					r.state[k] = at
				}
			}
		}
	}
}

func hasKey(m map[string]version, k string) bool { _, ok := m[k]; return ok }

func stateKey(ns, coll, key string) string { return ns + "\x00" + coll + "\x00" + key }

// checkReads replays the MVCC check: every public and hashed read must
// name the version of the key committed now (none for a key that does not
// exist). It returns false and the first read that does not match.
func (r *replay) checkReads(rw []nsRW) (bool, string) {
	check := func(ns, coll, key, shown string, read *kvrwset.Version) (bool, string) {
		cur, exists := r.state[stateKey(ns, coll, key)]
		switch {
		case read == nil && !exists:
			return true, ""
		case read == nil:
			return false, fmt.Sprintf("%s read as absent, but it was written at %s", shown, cur)
		case !exists:
			return false, fmt.Sprintf("%s read at %s, but it does not exist", shown, version{read.GetBlockNum(), read.GetTxNum()})
		case cur != version{read.GetBlockNum(), read.GetTxNum()}:
			return false, fmt.Sprintf("%s read at %s, but the committed version is %s", shown, version{read.GetBlockNum(), read.GetTxNum()}, cur)
		}
		return true, ""
	}
	for _, n := range rw {
		for _, rd := range n.kv.GetReads() {
			if ok, why := check(n.ns, "", rd.GetKey(), fmt.Sprintf("key %s/%s", n.ns, RenderKey(rd.GetKey())), rd.GetVersion()); !ok {
				return false, why
			}
		}
		for _, c := range n.hashed {
			for _, rd := range c.rw.GetHashedReads() {
				shown := fmt.Sprintf("private key %s/%s hash %x", n.ns, c.coll, rd.GetKeyHash())
				if ok, why := check(n.ns, c.coll, string(rd.GetKeyHash()), shown, rd.GetVersion()); !ok {
					return false, why
				}
			}
		}
	}
	return true, ""
}

// define follows the chaincode definitions _lifecycle commits: the fields
// namespaces/fields/<name>/ValidationInfo and …/Collections, each a
// lifecycle.StateData holding a marshalled message.
func (r *replay) define(w *kvrwset.KVWrite, block uint64) {
	rest, ok := strings.CutPrefix(w.GetKey(), "namespaces/fields/")
	if !ok {
		return
	}
	name, field, ok := strings.Cut(rest, "/")
	if !ok {
		return
	}
	var sd lifecycle.StateData
	if w.GetIsDelete() || proto.Unmarshal(w.GetValue(), &sd) != nil {
		return
	}
	def := r.defs[name]
	if def == nil {
		def = &ccDefinition{}
		r.defs[name] = def
	}
	def.block = block
	switch field {
	case "ValidationInfo":
		var vi lifecycle.ChaincodeValidationInfo
		var ap peer.ApplicationPolicy
		if proto.Unmarshal(sd.GetBytes(), &vi) == nil && proto.Unmarshal(vi.GetValidationParameter(), &ap) == nil {
			def.policy = &ap
		}
	case "Collections":
		var cp peer.CollectionConfigPackage
		if proto.Unmarshal(sd.GetBytes(), &cp) == nil {
			def.collections = &cp
		}
	}
}

// Definitions lists the chaincode endorsement policies the replay read
// from _lifecycle, for the report.
func (r *replay) definitions() []string {
	var out []string
	for name, d := range r.defs {
		if d.policy != nil {
			out = append(out, fmt.Sprintf("chaincode %s: endorsement policy %s (block %d)", name, describePolicy(d.policy), d.block))
		}
	}
	return out
}

// notes are what the report says about the replay: the policies it read,
// the flags it took as they are.
func (r *replay) notes() []string {
	out := r.definitions()
	sort.Strings(out)
	if r.unruled > 0 {
		out = append(out, fmt.Sprintf("%d invalid transaction(s) flagged with a code the replay does not re-derive; their writes were not applied", r.unruled))
	}
	return out
}
