package ledger

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/quanchain/quanchain/cli/internal/chain"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// VerifyOptions are the inputs of `qc ledger verify`.
type VerifyOptions struct {
	IO             *cmdutil.IOStreams
	Ledger         func(context.Context) (*cmdutil.Ledger, error)
	NetworkProfile func() (*fabconn.Profile, *fabconn.OrgProfile, error)
	Output         cmdutil.OutputFlags
	Ctx            context.Context

	From, To       uint64
	FromSet, ToSet bool
	Peers          []string // organisations (short names or MSP IDs); empty: every organisation
	PeersSet       bool
	BlockStore     string // a copy of a peer's block store, verified offline
	HashesOnly     bool   // skip the replay
	GenesisFile    string // the channel's genesis block, as the auditor received it
}

// progressThreshold is the number of blocks from which a walk draws a
// progress bar (on a terminal only).
const progressThreshold = 20

// NewCmdVerify returns `qc ledger verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IOStreams, Ledger: f.Ledger, NetworkProfile: f.NetworkProfile}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the block chain across peers, or a copy of a block store",
		Long: `Walk the blocks and check, block by block:

  block_number            the header's number is the block's position
  data_hash               the header's data hash is the SHA-256 of the block's
                          transaction envelopes, concatenated
  previous_hash           the header's previous hash is the SHA-256 of the
                          previous header's ASN.1 DER encoding (Fabric's
                          BlockHeaderHash); empty for block 0
  validation_flags        one validation flag per transaction
  header_match            every other peer returns a byte-identical header
  validation_flags_match  and validated every transaction the same
  chain_info              the last header's hash is the current block hash
                          the first peer reports

Then replay the chain from the genesis block, with the channel configuration
in force at each block (the genesis block's, replaced at each configuration
block), and check:

  channel_config          block 0 is the channel configuration; every
                          configuration block decodes
  orderer_signature       every later block is signed as the configuration's
                          /Channel/Orderer/BlockValidation policy requires, by
                          orderers whose certificates chain to their MSP's CAs;
                          the signature covers the header, so a block rewritten
                          with its hashes and every later link recomputed fails
  creator_signature       a valid transaction's creator is a member of an MSP
                          of the configuration (certificate chain, revocation
                          lists, node OUs) and signed the envelope
  tx_id                   its id is the SHA-256 of its nonce and creator, used
                          once
  transaction             it is well formed, for this channel, and endorsed
                          for its own proposal (the proposal hash)
  endorsement_signature   each endorsement is signed by a member of an MSP
  endorsement_policy      the endorsements satisfy the policy of every
                          namespace and collection the transaction invoked or
                          wrote: the chaincode's policy as the _lifecycle
                          namespace committed it, LifecycleEndorsement and the
                          organisations' Endorsement policies for _lifecycle
  mvcc                    every key a valid transaction read is at the version
                          the valid transactions before it left (block order)
  validation_code         a transaction flagged invalid fails as its flag says:
                          one flagged MVCC_READ_CONFLICT whose reads all match,
                          or ENDORSEMENT_POLICY_FAILURE whose endorsements
                          satisfy the policy, is a divergence. Flags the replay
                          does not derive (PHANTOM_READ_CONFLICT, …) are taken
                          as they are and counted in a note.

The replay always starts at block 0: with --from, the blocks before it are
read from the first peer and checked too. --hashes-only skips the replay.
Block 0 is the trust anchor: it is not signed, and its configuration says
who may sign everything after it. With --genesis, the genesis block file you
received out of band (configtxgen's output, as the channel was created) must
be block 0 (check "genesis").

The first peer in --peers is the reference (by default your own, then every
other organisation in the network profile). Queries to other organisations'
peers are signed with your own identity and forwarded to them by your peer's
Fabric Gateway: you need no one else's credentials.

With --block-store, verify a copy of a peer's block store offline instead
(Fabric's block files, blockfile_NNNNNN, of one channel). A copy whose last
record is cut short fails the check "complete": the report names the last
complete block and the orderers who signed it. With --block-store, --peers
names live peers to hold the copy to: their height, and their header of the
copy's last block, which must be the copy's.

The first failure is reported with the block, the transaction (index and
id) for a transaction's check, the check, the peer or copy, and what was
expected against what was found; qc then exits with status 3. Exit status
4: the range is beyond the chain or the copy; 2: bad flags (a --genesis file
that is not block 0, a copy that does not start at block 0); 1: a peer or a
file could not be read.`,
		Example: `  qc ledger verify
  qc ledger verify --genesis quanchain.block
  qc ledger verify --from 100 --to 200 --peers audit,bank
  cp -r <peer ledger>/ledgersData/chains/chains/quanchain /tmp/copy
  qc ledger verify --block-store /tmp/copy --json
  qc ledger verify --block-store /tmp/copy --peers audit`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			opts.FromSet, opts.ToSet = cmd.Flags().Changed("from"), cmd.Flags().Changed("to")
			opts.PeersSet = cmd.Flags().Changed("peers")
			if opts.FromSet && opts.ToSet && opts.To < opts.From {
				return cmdutil.UsageErrorf("--to %d is before --from %d", opts.To, opts.From)
			}
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(opts)
		},
	}
	cmd.Flags().Uint64Var(&opts.From, "from", 0, "first block to verify (default 0)")
	cmd.Flags().Uint64Var(&opts.To, "to", 0, "last block to verify (default: the last block every peer has)")
	cmd.Flags().StringSliceVar(&opts.Peers, "peers", nil, "organisations whose peers to compare, reference first (default: yours, then every other); with --block-store, live peers to hold the copy to")
	cmd.Flags().StringVar(&opts.BlockStore, "block-store", "", "verify a copy of a peer's block store in this directory, offline")
	cmd.Flags().StringVar(&opts.GenesisFile, "genesis", "", "the channel's genesis block file as you received it (configtxgen's output): block 0 must be it")
	cmd.Flags().BoolVar(&opts.HashesOnly, "hashes-only", false, "check hashes and agreement between peers only; skip the replay of signatures, policies and MVCC")
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func verifyRun(opts *VerifyOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	var (
		sources []chain.Source
		o       chain.Options
		notes   []string
		store   *chain.BlockStore
	)
	if opts.BlockStore != "" {
		store, o, err = openStore(opts)
		sources = []chain.Source{store}
	} else {
		sources, o, notes, err = peerSources(opts)
	}
	if err != nil {
		return err
	}
	o.Replay = !opts.HashesOnly
	if opts.GenesisFile != "" {
		if o.Genesis, err = genesisHash(opts.GenesisFile); err != nil {
			return err
		}
	}
	if opts.IO.StderrTTY && format != cmdutil.FormatJSON && o.To-o.From+1 >= progressThreshold {
		bar := progressbar.NewOptions64(int64(o.To-o.From+1),
			progressbar.OptionSetWriter(opts.IO.ErrOut),
			progressbar.OptionSetDescription("verifying blocks"),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		o.Progress = func(uint64) { _ = bar.Add(1) }
		defer func() { _ = bar.Clear() }()
	}
	rep, err := chain.Verify(opts.Ctx, sources, o)
	if err != nil {
		return err
	}
	rep.Notes = append(rep.Notes, notes...)
	if store != nil && opts.PeersSet {
		if err := holdToPeers(opts, store, rep); err != nil {
			return err
		}
	}
	if format == cmdutil.FormatJSON {
		err = cmdutil.WriteJSON(opts.IO.Out, rep)
	} else {
		err = writeReport(opts.IO, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return &cmdutil.FailedCheckError{Err: fmt.Errorf("verification failed: %w", rep.Failure)}
	}
	return nil
}

// genesisHash reads a genesis block file (a marshalled common.Block) and
// returns its header hash.
func genesisHash(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, cmdutil.UsageErrorf("--genesis: %v", err)
	}
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil || b.GetHeader() == nil {
		return nil, cmdutil.UsageErrorf("--genesis %s: not a Fabric block", path)
	}
	if n := b.GetHeader().GetNumber(); n != 0 {
		return nil, cmdutil.UsageErrorf("--genesis %s: block %d, not the genesis block", path, n)
	}
	return chain.HeaderHash(b.GetHeader()), nil
}

func openStore(opts *VerifyOptions) (*chain.BlockStore, chain.Options, error) {
	s, err := chain.OpenBlockStore(opts.BlockStore)
	if err != nil {
		return nil, chain.Options{}, err
	}
	if s.Len() == 0 {
		if t := s.Truncation(); t != "" {
			return nil, chain.Options{}, cmdutil.FailedCheckf("no complete block in %s: %s", s.Dir(), t)
		}
		return nil, chain.Options{}, cmdutil.NotFoundf("no blocks in %s", s.Dir())
	}
	if s.First() > 0 && !opts.HashesOnly {
		return nil, chain.Options{}, cmdutil.UsageErrorf("%s starts at block %d (its peer joined from a snapshot): the replay needs the genesis block", s.Dir(), s.First())
	}
	o := chain.Options{From: s.First(), To: s.Last()}
	if opts.FromSet {
		o.From = opts.From
	}
	if opts.ToSet {
		o.To = opts.To
	}
	if o.From < s.First() || o.To > s.Last() {
		return nil, o, cmdutil.NotFoundf("%s holds blocks %d to %d only", s.Dir(), s.First(), s.Last())
	}
	if o.To < o.From {
		return nil, o, cmdutil.UsageErrorf("--from %d is after the last block %d", o.From, o.To)
	}
	return s, o, nil
}

// holdToPeers compares a block store with live peers: their height, and
// their header of the last block both hold, which must be the copy's. A
// different header fails the report (unless it failed already); the rest
// are notes.
func holdToPeers(opts *VerifyOptions, s *chain.BlockStore, rep *chain.Report) error {
	prof, own, err := opts.NetworkProfile()
	if err != nil {
		return err
	}
	orgs, err := resolvePeers(prof, own, opts.Peers)
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		ci, err := lc.Blocks.ChainInfo(opts.Ctx, org)
		if err != nil {
			return err
		}
		h := ci.GetHeight()
		if h == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s's peer has no blocks", org))
			continue
		}
		at := min(s.Last(), h-1)
		switch {
		case s.Truncation() != "" && h-1 > s.Last():
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s's peer is at height %d: the copy lacks %s", org, h, blockRange(s.Last()+1, h-1)))
		case h-1 > s.Last():
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s's peer is at height %d: it has %d block(s) more than the copy", org, h, h-1-s.Last()))
		case h-1 < s.Last():
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s's peer is at height %d: the copy holds %d block(s) it does not", org, h, s.Last()-(h-1)))
		default:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s's peer is at height %d, as the copy", org, h))
		}
		live, err := lc.Blocks.Block(opts.Ctx, org, at)
		if err != nil {
			return err
		}
		mine, err := s.Block(opts.Ctx, at)
		if err != nil {
			continue // a damaged record: the report says so already
		}
		want, got := chain.HeaderHash(live.GetHeader()), chain.HeaderHash(mine.GetHeader())
		if !bytes.Equal(want, got) && rep.OK {
			rep.OK = false
			rep.Failure = &chain.Failure{Block: at, Check: chain.CheckHeaderMatch, Source: s.Name(),
				Expected: fmt.Sprintf("header hash %x (as on %s's live peer)", want, org), Got: fmt.Sprintf("header hash %x", got)}
		}
	}
	rep.Checks = append(rep.Checks, chain.CheckHeaderMatch)
	return nil
}

func blockRange(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("block %d", from)
	}
	return fmt.Sprintf("blocks %d to %d", from, to)
}

// peerSource reads blocks from one organisation's peer.
type peerSource struct {
	lc  *cmdutil.Ledger
	org string
}

func (p peerSource) Name() string { return p.org }

func (p peerSource) Block(ctx context.Context, n uint64) (*common.Block, error) {
	return p.lc.Blocks.Block(ctx, p.org, n)
}

func peerSources(opts *VerifyOptions) ([]chain.Source, chain.Options, []string, error) {
	prof, own, err := opts.NetworkProfile()
	if err != nil {
		return nil, chain.Options{}, nil, err
	}
	orgs, err := resolvePeers(prof, own, opts.Peers)
	if err != nil {
		return nil, chain.Options{}, nil, err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return nil, chain.Options{}, nil, err
	}
	var (
		sources []chain.Source
		notes   []string
		tip     *common.BlockchainInfo
		minH    uint64
		lowest  string
		heights []string
	)
	for i, org := range orgs {
		ci, err := lc.Blocks.ChainInfo(opts.Ctx, org)
		if err != nil {
			return nil, chain.Options{}, nil, err
		}
		if i == 0 {
			tip = ci
		}
		if i == 0 || ci.GetHeight() < minH {
			minH, lowest = ci.GetHeight(), org
		}
		heights = append(heights, fmt.Sprintf("%s %d", org, ci.GetHeight()))
		sources = append(sources, peerSource{lc: lc, org: org})
	}
	if minH == 0 {
		return nil, chain.Options{}, nil, cmdutil.NotFoundf("%s's peer has no blocks", lowest)
	}
	o := chain.Options{From: opts.From, To: minH - 1}
	if opts.ToSet {
		if opts.To > minH-1 {
			return nil, o, nil, cmdutil.NotFoundf("block %d is beyond the chain of %s's peer (height %d)", opts.To, lowest, minH)
		}
		o.To = opts.To
	}
	if o.From > o.To {
		return nil, o, nil, cmdutil.NotFoundf("--from %d is beyond the last block %d", o.From, o.To)
	}
	if o.To == tip.GetHeight()-1 {
		o.TipHash = tip.GetCurrentBlockHash()
	}
	if len(orgs) > 1 {
		notes = append(notes, "peer heights at start: "+strings.Join(heights, ", "))
	}
	return sources, o, notes, nil
}

// resolvePeers turns --peers into MSP IDs, in order, without duplicates;
// empty means the own organisation, then every other in profile order.
func resolvePeers(prof *fabconn.Profile, own *fabconn.OrgProfile, names []string) ([]string, error) {
	if len(names) == 0 {
		out := []string{own.MSPID}
		for _, o := range prof.Orgs {
			if o.MSPID != own.MSPID {
				out = append(out, o.MSPID)
			}
		}
		return out, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		o, err := prof.Org(strings.TrimSpace(n))
		if err != nil {
			return nil, cmdutil.UsageErrorf("--peers: %v", err)
		}
		if !seen[o.MSPID] {
			seen[o.MSPID] = true
			out = append(out, o.MSPID)
		}
	}
	return out, nil
}

func writeReport(io *cmdutil.IOStreams, r *chain.Report) error {
	w := io.Out
	checks := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		checks[i] = string(c)
	}
	t := cmdutil.NewTable(w)
	t.Row("sources", strings.Join(r.Sources, ", "))
	t.Row("blocks", fmt.Sprintf("%d to %d", r.From, r.To))
	t.Row("checks", strings.Join(checks, ", "))
	t.Row("verified", fmt.Sprintf("%d blocks, %d transactions", r.Blocks, r.Transactions))
	if ls := r.LastSigned; ls != nil {
		t.Row("last signed", fmt.Sprintf("block %d by %s", ls.Block, strings.Join(ls.Signers, ", ")))
	}
	for _, n := range r.Notes {
		t.Row("note", n)
	}
	if r.OK {
		t.Row("result", "OK")
		return t.Flush()
	}
	f := r.Failure
	t.Row("result", fmt.Sprintf("FAILED at block %d", f.Block))
	if f.TxIndex != nil {
		t.Row("transaction", fmt.Sprintf("%d (%s)", *f.TxIndex, f.TxID))
	}
	t.Row("check", string(f.Check))
	t.Row("source", f.Source)
	t.Row("expected", f.Expected)
	t.Row("got", f.Got)
	return t.Flush()
}
