package chain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/encoding/protowire"
)

// BlockStore is a copy of a peer's block store, read offline: the files
// blockfile_000000, blockfile_000001, … of one channel
// (<peer ledger>/ledgersData/chains/chains/<channel>/).
//
// Fabric 2.5 (common/ledger/blkstorage) appends each block to the current
// file as a varint length followed by the block in its own serialization —
// not a marshalled common.Block:
//
//	varint  block number
//	bytes   data hash                 (each "bytes" is a varint length, then the bytes)
//	bytes   previous hash
//	varint  number of transactions,   then each transaction envelope as bytes
//	varint  number of metadata items, then each item as bytes
type BlockStore struct {
	dir     string
	base    uint64 // number of the first block (0 unless the peer joined from a snapshot)
	entries []storeEntry
	trunc   string // where the last record is cut short, or ""
}

type storeEntry struct {
	block   *common.Block
	corrupt string // why the record does not decode
}

// OpenBlockStore reads a block store. dir is the channel's directory holding
// the block files, or any directory above it with exactly one such channel
// directory (a copy of the peer's ledger directory, for instance).
func OpenBlockStore(dir string) (*BlockStore, error) {
	chanDir, err := findBlockFiles(dir)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(chanDir, "blockfile_*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files) // blockfile_NNNNNN: zero-padded, so name order is file order
	s := &BlockStore{dir: chanDir}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read block file: %w", err)
		}
		off, broken := s.scan(b, filepath.Base(f))
		if !broken {
			continue
		}
		if i == len(files)-1 {
			// A peer that crashed while appending ignores a partly written
			// last block and fetches it again; in a copy handed over as
			// evidence, it is a cut: Verify reports it (Truncation).
			s.trunc = fmt.Sprintf("%s ends with an incomplete record at offset %d (%d of its bytes present)",
				filepath.Base(f), off, len(b)-off)
			break
		}
		// Inside an earlier file it is damage, and nothing after it can be
		// located.
		s.entries = append(s.entries, storeEntry{corrupt: fmt.Sprintf("%s: record at offset %d runs past the end of the file",
			filepath.Base(f), off)})
		break
	}
	if len(s.entries) > 0 && s.entries[0].block != nil {
		s.base = s.entries[0].block.GetHeader().GetNumber()
	}
	return s, nil
}

// scan reads the records of one block file. If a record's length prefix
// runs past the end of the file, it stops and returns the record's offset
// and broken = true.
func (s *BlockStore) scan(b []byte, file string) (int, bool) {
	off := 0
	for off < len(b) {
		length, w := protowire.ConsumeVarint(b[off:])
		if w < 0 || uint64(len(b)-off-w) < length {
			return off, true
		}
		rec := b[off+w : off+w+int(length)]
		e := storeEntry{}
		var err error
		if e.block, err = decodeStoredBlock(rec); err != nil {
			e.corrupt = fmt.Sprintf("%s at offset %d: %v", file, off, err)
		}
		s.entries = append(s.entries, e)
		off += w + int(length)
	}
	return off, false
}

// Name is the block store's directory.
func (s *BlockStore) Name() string { return "block store " + s.dir }

// Dir is the directory holding the block files.
func (s *BlockStore) Dir() string { return s.dir }

// First is the number of the first block in the store.
func (s *BlockStore) First() uint64 { return s.base }

// Last is the number of the last block in the store. It is meaningful only
// when Len is not zero.
func (s *BlockStore) Last() uint64 { return s.base + uint64(len(s.entries)) - 1 }

// Len is the number of blocks found.
func (s *BlockStore) Len() int { return len(s.entries) }

// Truncation says where the last block file ends with an incomplete
// record (a copy cut short, or taken while the peer was appending); ""
// if it ends with a complete one. The incomplete record is not counted
// in Len.
func (s *BlockStore) Truncation() string { return s.trunc }

// Block returns the block at position n: the store is read in file order,
// and the block number in each header is checked by Verify.
func (s *BlockStore) Block(_ context.Context, n uint64) (*common.Block, error) {
	if n < s.base || n-s.base >= uint64(len(s.entries)) {
		return nil, fmt.Errorf("block %d is not in %s (blocks %d to %d)", n, s.dir, s.base, s.base+uint64(len(s.entries))-1)
	}
	e := s.entries[n-s.base]
	if e.corrupt != "" {
		return nil, &CorruptError{Block: n, Detail: e.corrupt}
	}
	return e.block, nil
}

// decodeStoredBlock reverses Fabric's serializeBlock.
func decodeStoredBlock(b []byte) (*common.Block, error) {
	r := reader{b: b}
	blk := &common.Block{Header: &common.BlockHeader{}, Data: &common.BlockData{}, Metadata: &common.BlockMetadata{}}
	blk.Header.Number = r.varint("block number")
	blk.Header.DataHash = r.bytes("data hash")
	blk.Header.PreviousHash = r.bytes("previous hash")
	if len(blk.Header.PreviousHash) == 0 {
		blk.Header.PreviousHash = nil
	}
	for i, n := uint64(0), r.varint("transaction count"); i < n && r.err == nil; i++ {
		blk.Data.Data = append(blk.Data.Data, r.bytes(fmt.Sprintf("transaction %d", i)))
	}
	for i, n := uint64(0), r.varint("metadata count"); i < n && r.err == nil; i++ {
		blk.Metadata.Metadata = append(blk.Metadata.Metadata, r.bytes(fmt.Sprintf("metadata %d", i)))
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes left after the block", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return blk, nil
}

// reader consumes Fabric's varints and length-prefixed byte strings; the
// first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) varint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		r.err = fmt.Errorf("%s: %v", what, protowire.ParseError(n))
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(what string) []byte {
	if r.err != nil {
		return nil
	}
	v, n := protowire.ConsumeBytes(r.b)
	if n < 0 {
		r.err = fmt.Errorf("%s: %v", what, protowire.ParseError(n))
		return nil
	}
	r.b = r.b[n:]
	return append([]byte(nil), v...)
}

// findBlockFiles returns dir if it holds block files, else the one
// directory below it (at most six levels down) that does.
func findBlockFiles(dir string) (string, error) {
	if has(dir) {
		return dir, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("block store: %w", err)
	}
	var found []string
	root := filepath.Clean(dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of a copy are skipped
		}
		if !d.IsDir() {
			return nil
		}
		if strings.Count(strings.TrimPrefix(p, root), string(filepath.Separator)) > 6 {
			return filepath.SkipDir
		}
		if has(p) {
			found = append(found, p)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", errors.New("no Fabric block files (blockfile_000000) in " + dir +
			": give the channel's directory of a copy of the peer's ledger (…/ledgersData/chains/chains/<channel>)")
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("several channels' block files under %s (%s): give one channel's directory", dir, strings.Join(found, ", "))
	}
}

func has(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "blockfile_000000"))
	return err == nil
}
