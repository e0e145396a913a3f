package fabnet

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quanchain/quanchain/ledger/fabconn"
)

// ProcessStatus is the state of one supervised process.
type ProcessStatus struct {
	Name     string // orderer0.orderer, peer0.bureau, quanchain-cc
	Kind     Kind
	MSPID    string // empty for the chaincode service
	Running  bool
	PID      int
	Endpoint string // gRPC (or chaincode service) address
	Admin    string // orderers: channel participation API
	Ops      string // operations endpoint (/healthz, /metrics)
	Health   string // "ok", or why not
	Log      string
}

// PeerHeight is one peer's view of the channel.
type PeerHeight struct {
	MSPID  string
	Height uint64
	Err    error
}

// Report is what Status found.
type Report struct {
	StateDir  string
	Processes []ProcessStatus
	Heights   []PeerHeight   // empty if the network has no profile yet
	Orderers  []OrdererState // empty if no orderer runs
	// OrderersErr says why the orderers do not follow one Raft leader at
	// its height, or is nil.
	OrderersErr error
}

// Healthy reports whether every process runs and answers its health check
// and every peer reported a height.
func (r *Report) Healthy() bool {
	for _, p := range r.Processes {
		if !p.Running || p.Health != "ok" {
			return false
		}
	}
	for _, h := range r.Heights {
		if h.Err != nil {
			return false
		}
	}
	return len(r.Processes) > 0 && r.OrderersErr == nil
}

// Status inspects every process (pid, health) and asks every running peer
// for its channel height. It changes nothing.
func Status(ctx context.Context, l Layout) (*Report, error) {
	t := DefaultTopology()
	rep := &Report{StateDir: l.StateDir}
	procs := l.allProcs(t)
	if !slices.ContainsFunc(procs, func(p proc) bool { return p.Kind == KindChaincode }) {
		// The chaincode was never deployed: show it stopped, after the nodes.
		procs = slices.Insert(procs, len(t.Nodes()), l.chaincodeProc(t, ""))
	}
	nodes := map[string]Node{}
	for _, n := range t.Nodes() {
		nodes[n.Name()] = n
	}
	for _, p := range procs {
		ps := ProcessStatus{Name: p.Name, Kind: p.Kind, Endpoint: p.Endpoint, Log: l.LogFile(p.Name), Health: "-"}
		if n, ok := nodes[p.Name]; ok {
			ps.MSPID, ps.Ops = n.Org.MSPID, n.OpsAddress()
			if n.Kind == KindOrderer {
				ps.Admin = n.AdminAddress()
			}
		}
		ps.PID = l.pid(p)
		ps.Running = ps.PID != 0
		if ps.Running {
			hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			ps.Health = "ok"
			if err := p.Health(hctx); err != nil {
				ps.Health = err.Error()
			}
			cancel()
		}
		rep.Processes = append(rep.Processes, ps)
	}
	running := map[string]bool{}
	for _, p := range rep.Processes {
		running[p.Name] = p.Running
	}
	if running[t.Orderers[0].Name()] || running[t.Orderers[1].Name()] || running[t.Orderers[2].Name()] {
		rep.Orderers, rep.OrderersErr = orderersSettled(ctx, l)
	}
	if !exists(l.ProfileFile()) {
		return rep, nil
	}
	rep.Heights = make([]PeerHeight, len(t.Peers))
	err := parallel(indexes(len(t.Peers)), func(i int) error {
		p := t.Peers[i]
		if !running[p.Name()] {
			rep.Heights[i] = PeerHeight{MSPID: p.Org.MSPID, Err: fmt.Errorf("peer not running")}
			return nil
		}
		rep.Heights[i] = peerHeight(ctx, l, p)
		return nil
	})
	return rep, err
}

// peerHeight asks one peer, as its organisation, for the channel height.
func peerHeight(ctx context.Context, l Layout, p Node) PeerHeight {
	h := PeerHeight{MSPID: p.Org.MSPID}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := fabconn.Connect(ctx, l.StateDir, p.Org.MSPID)
	if err != nil {
		h.Err = err
		return h
	}
	defer conn.Close()
	info, err := conn.ChainInfo(ctx)
	if err != nil {
		h.Err = err
		return h
	}
	h.Height = info.GetHeight()
	return h
}

func indexes(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// orderersSettled reads the orderers' states; under traffic a follower may
// trail the leader by the blocks in flight, so a gap is read again after a
// second before it counts.
func orderersSettled(ctx context.Context, l Layout) ([]OrdererState, error) {
	states := OrdererStates(ctx, l)
	if err := orderersInStep(states, 0); err == nil {
		return states, nil
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	states = OrdererStates(ctx, l)
	return states, orderersInStep(states, 2)
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "state directory:    %s\n", r.StateDir)
	fmt.Fprintf(w, "connection profile: %s\n\n", filepath.Join(r.StateDir, "network.json"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tMSP\tSTATE\tPID\tENDPOINT\tADMIN\tOPS\tHEALTH\tLOG")
	for _, p := range r.Processes {
		state, pid := "stopped", "-"
		if p.Running {
			state, pid = "running", fmt.Sprint(p.PID)
		}
		log := p.Log
		if rel, err := filepath.Rel(r.StateDir, p.Log); err == nil {
			log = rel
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, dash(p.MSPID), state, pid, p.Endpoint,
			dash(p.Admin), dash(p.Ops), firstLine(p.Health), log)
	}
	tw.Flush()
	if len(r.Orderers) > 0 {
		fmt.Fprintf(w, "\norderers on channel %s:\n", ChannelName)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ORDERER\tRELATION\tSTATUS\tHEIGHT\tRAFT")
		for _, o := range r.Orderers {
			if o.Err != nil {
				fmt.Fprintf(tw, "%s\tunavailable: %s\n", o.Name, firstLine(o.Err.Error()))
				continue
			}
			role := "follower"
			if o.Leader {
				role = "leader"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", o.Name, o.Relation, o.Status, o.Height, role)
		}
		tw.Flush()
		if r.OrderersErr != nil {
			fmt.Fprintf(w, "NOT IN STEP: %s\n%s\n", strings.ReplaceAll(r.OrderersErr.Error(), "\n", "; "), ordererAdvice)
		}
	}
	if len(r.Heights) > 0 {
		fmt.Fprintf(w, "\nchannel %s:\n", ChannelName)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PEER ORG\tHEIGHT")
		for _, h := range r.Heights {
			if h.Err != nil {
				fmt.Fprintf(tw, "%s\tunavailable: %s\n", h.MSPID, firstLine(h.Err.Error()))
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\n", h.MSPID, h.Height)
		}
		tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}
