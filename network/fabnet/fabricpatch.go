package fabnet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FabricBuild names the cached build: the Fabric release and the revision
// of the patches below. Changing a patch changes it, so the next `up`
// builds the binaries again instead of using a stale cache.
const FabricBuild = FabricVersion + "-qc1"

// sourcePatch replaces one exact passage of a Fabric source file.
type sourcePatch struct {
	file     string // relative to the module root
	old, new string
}

// fabricPatches are applied to the pinned Fabric sources before they are
// built. Each must match exactly once, so a change of the pin cannot apply
// a patch to code it was not written for.
//
// The orderer's Raft WAL deadlock (hyperledger/fabric#4199, fixed upstream
// after 2.5.0). When an orderer restarts, it replays its Raft log: the
// committed entries reach the chain goroutine in batches, and the first
// entries are the cluster's configuration changes (add node 1, 2, 3).
// Before applying each one the chain goroutine asked the node goroutine to
// sync the WAL and waited for it; the node goroutine, meanwhile, could be
// blocked handing the next batch to the chain goroutine. Both waited for
// ever: the orderer logged "current nodes in channel: [1]", stopped at
// the height it had, never rejoined the cluster, and every transaction
// sent to it was lost until its client timed out. The patch syncs the WAL
// in the node goroutine, before the batch is handed over, when the batch
// holds a configuration change, and drops the cross-goroutine request.
var fabricPatches = []sourcePatch{
	{
		file: "orderer/consensus/etcdraft/node.go",
		old: `			if !raft.IsEmptySnap(rd.Snapshot) {
				n.chain.snapC <- &rd.Snapshot
			}

			// skip empty apply
`,
		new: `			if !raft.IsEmptySnap(rd.Snapshot) {
				n.chain.snapC <- &rd.Snapshot
			}

			// quanchain patch: a configuration change is applied only
			// once the WAL holding it is synced; syncing here, before the
			// entries go to the chain, replaces the chain's request for a
			// sync that deadlocked with this goroutine (fabric#4199).
			for _, e := range rd.CommittedEntries {
				if e.Type == raftpb.EntryConfChange {
					if err := n.storage.Sync(); err != nil {
						n.logger.Warnf("Failed to sync raft log, error: %s", err)
					}
					break
				}
			}

			// skip empty apply (apply after the sync above)
`,
	},
	{
		file: "orderer/consensus/etcdraft/chain.go",
		old: `			// persist the WAL entries into disk
			c.Node.storage.WALSyncC <- struct{}{}
`,
		new: `			// quanchain patch: the node goroutine synced the WAL before
			// handing these entries over (fabric#4199).
`,
	},
}

// patchFabric applies fabricPatches to the Fabric sources in dir.
func patchFabric(dir string) error {
	for _, p := range fabricPatches {
		path := filepath.Join(dir, p.file)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("patch Fabric: %w", err)
		}
		src := string(b)
		if n := strings.Count(src, p.old); n != 1 {
			return fmt.Errorf("patch Fabric: %s: the passage to replace occurs %d times, want once", p.file, n)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(src, p.old, p.new, 1)), 0o644); err != nil {
			return fmt.Errorf("patch Fabric: %w", err)
		}
	}
	return nil
}
