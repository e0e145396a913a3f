// Package chain decodes Fabric blocks into what an auditor reads (who
// submitted what, who endorsed it, whether it was valid, which event it
// emitted) and verifies the block chain: hash links, data hashes,
// validation flags, and agreement between the copies of several peers or a
// copy of a peer's block store read offline; and, replaying the chain from
// its genesis block, the orderers', creators' and endorsers' signatures
// against the channel configuration in force at each block, the
// endorsement policies, and the MVCC check behind each validation flag
// (see replay).
package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// asn1Header mirrors Fabric's protoutil.asn1Header (Fabric 2.5,
// protoutil/blockutils.go): the block number as an ASN.1 INTEGER (a
// big.Int, so every uint64 encodes), then the previous and data hashes as
// OCTET STRINGs, in a SEQUENCE.
type asn1Header struct {
	Number       *big.Int
	PreviousHash []byte
	DataHash     []byte
}

// HeaderBytes is the ASN.1 DER encoding of a block header that Fabric hashes
// (protoutil.BlockHeaderBytes).
func HeaderBytes(h *common.BlockHeader) []byte {
	// Marshal cannot fail: a big.Int and two byte slices always encode.
	b, _ := asn1.Marshal(asn1Header{
		Number:       new(big.Int).SetUint64(h.GetNumber()),
		PreviousHash: h.GetPreviousHash(),
		DataHash:     h.GetDataHash(),
	})
	return b
}

// HeaderHash is the SHA-256 of HeaderBytes: the hash that the next block's
// header carries as its previous hash (protoutil.BlockHeaderHash), and that
// qscc GetChainInfo reports as the current block hash.
func HeaderHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(HeaderBytes(h))
	return sum[:]
}

// DataHash is the SHA-256 over the concatenation of the block's data
// entries, the serialized transaction envelopes (Fabric 2.5
// protoutil.BlockDataHash).
func DataHash(d *common.BlockData) []byte {
	sum := sha256.Sum256(bytes.Join(d.GetData(), nil))
	return sum[:]
}
