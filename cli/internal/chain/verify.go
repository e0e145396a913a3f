package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// Source gives a copy of the chain block by block: a peer answering qscc,
// or a block store read from disk.
type Source interface {
	// Name identifies the copy in reports: an MSP ID or a directory.
	Name() string
	// Block returns block n. An error that is a *CorruptError is a
	// verification failure (the copy is damaged); any other error stops the
	// walk.
	Block(ctx context.Context, n uint64) (*common.Block, error)
}

// CorruptError is a block that is present but cannot be read back.
type CorruptError struct {
	Block  uint64
	Detail string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("block %d cannot be decoded: %s", e.Block, e.Detail)
}

// Check names one verification.
type Check string

// The checks, in the order they run on each block.
const (
	// CheckDecode: the block can be read back at all.
	CheckDecode Check = "decode"
	// CheckNumber: the header's number is the block's position.
	CheckNumber Check = "block_number"
	// CheckDataHash: the header's data hash is the SHA-256 of the
	// concatenated transaction envelopes.
	CheckDataHash Check = "data_hash"
	// CheckPreviousHash: the header's previous hash is the hash of the
	// previous block's header (empty for the genesis block).
	CheckPreviousHash Check = "previous_hash"
	// CheckValidationFlags: the block carries one validation flag per
	// transaction.
	CheckValidationFlags Check = "validation_flags"
	// CheckHeaderMatch: every other peer returns a byte-identical header.
	CheckHeaderMatch Check = "header_match"
	// CheckFlagsMatch: every other peer validated every transaction the same.
	CheckFlagsMatch Check = "validation_flags_match"
	// CheckChainInfo: the hash of the last header is the current block hash
	// the first peer reports (qscc GetChainInfo).
	CheckChainInfo Check = "chain_info"
	// CheckComplete: a block store ends with a complete record.
	CheckComplete Check = "complete"
	// CheckGenesis: block 0 is the genesis block the auditor holds
	// (Options.Genesis).
	CheckGenesis Check = "genesis"

	// The replay's checks (Options.Replay), from the genesis block on.

	// CheckConfig: the first block is the channel configuration, and every
	// configuration block decodes.
	CheckConfig Check = "channel_config"
	// CheckOrdererSignature: every block after the genesis block is signed
	// as the BlockValidation policy of the configuration in force requires.
	CheckOrdererSignature Check = "orderer_signature"
	// CheckTransaction: a valid transaction is well formed, addressed to the
	// channel, and its endorsements are for its own proposal.
	CheckTransaction Check = "transaction"
	// CheckCreatorSignature: a valid transaction's creator is a member of
	// an MSP of the configuration and signed the transaction.
	CheckCreatorSignature Check = "creator_signature"
	// CheckTxID: a valid transaction's id derives from its nonce and
	// creator, and was not used before.
	CheckTxID Check = "tx_id"
	// CheckEndorsementSignature: every endorsement of a valid transaction
	// is signed by a member of an MSP of the configuration.
	CheckEndorsementSignature Check = "endorsement_signature"
	// CheckEndorsementPolicy: a valid transaction's endorsements satisfy
	// the endorsement policies it needs; one flagged
	// ENDORSEMENT_POLICY_FAILURE does not.
	CheckEndorsementPolicy Check = "endorsement_policy"
	// CheckMVCC: a valid transaction read the committed version of every
	// key; one flagged MVCC_READ_CONFLICT did not.
	CheckMVCC Check = "mvcc"
	// CheckValidationCode: an invalid transaction fails as its flag says.
	CheckValidationCode Check = "validation_code"
)

// Failure is the first problem found: where, which check, which copy, what
// was expected and what was found.
type Failure struct {
	Block uint64 `json:"block"`
	// TxIndex and TxID name the transaction, for a transaction's check.
	TxIndex  *int   `json:"tx_index,omitempty"`
	TxID     string `json:"tx_id,omitempty"`
	Check    Check  `json:"check"`
	Source   string `json:"source"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
}

func (f *Failure) Error() string {
	where := fmt.Sprintf("block %d", f.Block)
	if f.TxIndex != nil {
		where += fmt.Sprintf(" transaction %d (%s)", *f.TxIndex, f.TxID)
	}
	return fmt.Sprintf("%s: %s check failed on %s: expected %s, got %s", where, f.Check, f.Source, f.Expected, f.Got)
}

// Options bound a verification.
type Options struct {
	From, To uint64
	// TipHash, if set, is the current block hash the first source reported
	// for a chain whose last block is To (CheckChainInfo).
	TipHash []byte
	// Replay adds the replay's checks (see replay): orderer, creator and
	// endorsement signatures, endorsement policies and MVCC, against the
	// channel configuration in force at each block. The replay starts at
	// the genesis block: blocks before From are read from the first source
	// and checked too.
	Replay bool
	// Genesis, if set, is the header hash of the channel's genesis block
	// as the auditor received it: block 0, whose configuration is the
	// replay's trust anchor, must have it.
	Genesis []byte
	// Progress, if set, is called after each verified block.
	Progress func(block uint64)
}

// Truncated is implemented by a source that may end with a partly
// written record (a block store): Truncation says where, or "", and Last
// is the number of the last complete block.
type Truncated interface {
	Truncation() string
	Last() uint64
}

// Report is the outcome of a verification.
type Report struct {
	Sources      []string `json:"sources"`
	From         uint64   `json:"from"`
	To           uint64   `json:"to"`
	Blocks       uint64   `json:"blocks_verified"`
	Transactions int      `json:"transactions_verified"`
	Checks       []Check  `json:"checks"`
	OK           bool     `json:"ok"`
	Failure      *Failure `json:"failure,omitempty"`
	// LastSigned is the last block whose orderer signatures checked
	// (replay only).
	LastSigned *SignedBlock `json:"last_signed,omitempty"`
	Notes      []string     `json:"notes,omitempty"`
}

// Verify walks blocks From..To of every source and stops at the first
// failure. The first source is the reference: the hash chain is followed on
// it (from block From-1, so the range is linked to what precedes it), and
// every other source must return byte-identical headers and the same
// validation flags. Every source's blocks must be internally consistent.
// With Replay, the reference's blocks are also replayed from the genesis
// block (see replay). A reference that ends with a truncated record
// (Truncated) fails when the range reaches its last block.
// An error is returned only when the walk cannot go on (a peer unreachable,
// the context cancelled); a damaged chain is a Report with OK false.
func Verify(ctx context.Context, sources []Source, o Options) (*Report, error) {
	if len(sources) == 0 {
		return nil, errors.New("nothing to verify: no source")
	}
	if o.To < o.From {
		return nil, fmt.Errorf("empty range: block %d to %d", o.From, o.To)
	}
	r := &Report{From: o.From, To: o.To,
		Checks: []Check{CheckDecode, CheckNumber, CheckDataHash, CheckPreviousHash, CheckValidationFlags}}
	for _, s := range sources {
		r.Sources = append(r.Sources, s.Name())
	}
	if len(sources) > 1 {
		r.Checks = append(r.Checks, CheckHeaderMatch, CheckFlagsMatch)
	}
	if o.TipHash != nil {
		r.Checks = append(r.Checks, CheckChainInfo)
	}
	var rp *replay
	if o.Replay {
		rp = newReplay()
		r.Checks = append(r.Checks, CheckConfig, CheckOrdererSignature, CheckTransaction, CheckCreatorSignature, CheckTxID,
			CheckEndorsementSignature, CheckEndorsementPolicy, CheckMVCC, CheckValidationCode)
	}
	if o.Genesis != nil {
		r.Checks = append(r.Checks, CheckGenesis)
	}
	trunc, _ := sources[0].(Truncated)
	if trunc != nil {
		r.Checks = append(r.Checks, CheckComplete)
	}
	finish := func(f *Failure, err error) (*Report, error) {
		if err != nil {
			return nil, err
		}
		r.Failure = f
		if rp != nil {
			r.LastSigned = rp.last
			r.Notes = append(r.Notes, rp.notes()...)
		}
		r.OK = f == nil
		return r, nil
	}
	ref := sources[0].Name()

	var prev *common.BlockHeader
	if o.From > 0 {
		start := o.From - 1
		if rp != nil {
			start = 0 // the configuration and the state at From depend on every block before it
		}
		for n := start; n < o.From; n++ {
			b, f, err := fetch(ctx, sources[0], n)
			if err != nil || f != nil {
				return finish(f, err)
			}
			if rp != nil {
				if f := checkPrefix(rp, b, prev, n, ref, o.Genesis); f != nil {
					return finish(f, nil)
				}
			}
			prev = b.GetHeader()
		}
	}
	for n := o.From; ; n++ {
		var refBlock *common.Block
		got := fetchAll(ctx, sources, n)
		for i, src := range sources {
			b, f, err := got[i].block, got[i].failure, got[i].err
			if err != nil || f != nil {
				return finish(f, err)
			}
			if f := checkBlock(b, n, src.Name()); f != nil {
				return finish(f, nil)
			}
			if i == 0 {
				refBlock = b
				if f := checkLink(b.GetHeader(), prev, src.Name()); f != nil {
					return finish(f, nil)
				}
				if f := checkGenesis(b, o.Genesis, src.Name()); f != nil {
					return finish(f, nil)
				}
				if rp != nil {
					if f := rp.block(b, src.Name()); f != nil {
						return finish(f, nil)
					}
				}
				continue
			}
			if f := compare(refBlock, b, src.Name(), ref); f != nil {
				return finish(f, nil)
			}
		}
		prev = refBlock.GetHeader()
		r.Blocks++
		r.Transactions += len(refBlock.GetData().GetData())
		if o.Progress != nil {
			o.Progress(n)
		}
		if n == o.To {
			break
		}
	}
	if o.TipHash != nil {
		if got := HeaderHash(prev); !bytes.Equal(got, o.TipHash) {
			return finish(&Failure{Block: o.To, Check: CheckChainInfo, Source: ref,
				Expected: hexOrEmpty(o.TipHash), Got: hexOrEmpty(got)}, nil)
		}
	}
	if trunc != nil {
		if detail := trunc.Truncation(); detail != "" && o.To == trunc.Last() {
			last := fmt.Sprintf("block %d is the last complete block", o.To)
			if rp != nil && rp.last != nil {
				last = fmt.Sprintf("block %d is the last complete block signed by the orderers (%s)", rp.last.Block, strings.Join(rp.last.Signers, ", "))
			}
			return finish(&Failure{Block: o.To + 1, Check: CheckComplete, Source: ref,
				Expected: "the store to end with a complete block record", Got: detail + "; " + last}, nil)
		}
	}
	return finish(nil, nil)
}

// checkPrefix checks a block before the range, read only for the replay.
func checkPrefix(rp *replay, b *common.Block, prev *common.BlockHeader, n uint64, src string, genesis []byte) *Failure {
	if f := checkBlock(b, n, src); f != nil {
		return f
	}
	if f := checkLink(b.GetHeader(), prev, src); f != nil {
		return f
	}
	if f := checkGenesis(b, genesis, src); f != nil {
		return f
	}
	return rp.block(b, src)
}

// checkGenesis holds block 0 to the genesis block's header hash, if given.
func checkGenesis(b *common.Block, genesis []byte, src string) *Failure {
	if genesis == nil || b.GetHeader().GetNumber() != 0 {
		return nil
	}
	if got := HeaderHash(b.GetHeader()); !bytes.Equal(got, genesis) {
		return &Failure{Block: 0, Check: CheckGenesis, Source: src,
			Expected: hexOrEmpty(genesis) + " (the genesis block given)", Got: hexOrEmpty(got)}
	}
	return nil
}

type fetched struct {
	block   *common.Block
	failure *Failure
	err     error
}

// fetchAll reads block n from every source at once; results are in source
// order, so the first failure reported does not depend on timing.
func fetchAll(ctx context.Context, sources []Source, n uint64) []fetched {
	out := make([]fetched, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, f, err := fetch(ctx, src, n)
			out[i] = fetched{block: b, failure: f, err: err}
		}()
	}
	wg.Wait()
	return out
}

// fetch reads one block; a CorruptError becomes a Failure.
func fetch(ctx context.Context, src Source, n uint64) (*common.Block, *Failure, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	b, err := src.Block(ctx, n)
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		return nil, &Failure{Block: n, Check: CheckDecode, Source: src.Name(), Expected: "a decodable block", Got: ce.Detail}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read block %d from %s: %w", n, src.Name(), err)
	case b.GetHeader() == nil:
		return nil, &Failure{Block: n, Check: CheckDecode, Source: src.Name(), Expected: "a block header", Got: "none"}, nil
	}
	return b, nil, nil
}

// checkBlock runs the checks that need only the block itself.
func checkBlock(b *common.Block, n uint64, src string) *Failure {
	h := b.GetHeader()
	if h.GetNumber() != n {
		return &Failure{Block: n, Check: CheckNumber, Source: src,
			Expected: strconv.FormatUint(n, 10), Got: strconv.FormatUint(h.GetNumber(), 10)}
	}
	if got := DataHash(b.GetData()); !bytes.Equal(got, h.GetDataHash()) {
		return &Failure{Block: n, Check: CheckDataHash, Source: src,
			Expected: hexOrEmpty(h.GetDataHash()) + " (header)", Got: hexOrEmpty(got) + " (SHA-256 of the block's data)"}
	}
	txs, flags := len(b.GetData().GetData()), len(ValidationFlags(b))
	if flags != txs {
		return &Failure{Block: n, Check: CheckValidationFlags, Source: src,
			Expected: fmt.Sprintf("%d flags (one per transaction)", txs), Got: fmt.Sprintf("%d flags", flags)}
	}
	return nil
}

// checkLink checks the header's previous hash against the previous header.
func checkLink(h, prev *common.BlockHeader, src string) *Failure {
	var want []byte
	if prev != nil {
		want = HeaderHash(prev)
	}
	if !bytes.Equal(h.GetPreviousHash(), want) {
		return &Failure{Block: h.GetNumber(), Check: CheckPreviousHash, Source: src,
			Expected: hexOrEmpty(want) + " (hash of the previous header)", Got: hexOrEmpty(h.GetPreviousHash())}
	}
	return nil
}

// compare checks another copy of a block against the reference copy.
func compare(ref, b *common.Block, src, refName string) *Failure {
	rh, h := ref.GetHeader(), b.GetHeader()
	n := rh.GetNumber()
	if !bytes.Equal(HeaderBytes(rh), HeaderBytes(h)) {
		field, want, got := "previous_hash", rh.GetPreviousHash(), h.GetPreviousHash()
		if !bytes.Equal(rh.GetDataHash(), h.GetDataHash()) {
			field, want, got = "data_hash", rh.GetDataHash(), h.GetDataHash()
		}
		return &Failure{Block: n, Check: CheckHeaderMatch, Source: src,
			Expected: fmt.Sprintf("%s %s (as on %s)", field, hexOrEmpty(want), refName), Got: field + " " + hexOrEmpty(got)}
	}
	rf, f := ValidationFlags(ref), ValidationFlags(b)
	if len(rf) != len(f) {
		return &Failure{Block: n, Check: CheckFlagsMatch, Source: src,
			Expected: fmt.Sprintf("%d flags (as on %s)", len(rf), refName), Got: fmt.Sprintf("%d flags", len(f))}
	}
	for i := range rf {
		if rf[i] != f[i] {
			return &Failure{Block: n, Check: CheckFlagsMatch, Source: src,
				Expected: fmt.Sprintf("transaction %d %s (as on %s)", i, validationCode(int32(rf[i])), refName),
				Got:      fmt.Sprintf("transaction %d %s", i, validationCode(int32(f[i])))}
		}
	}
	return nil
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	return hex.EncodeToString(b)
}
