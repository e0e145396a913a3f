package fabnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// OrdererState is one orderer's view of the channel, from its channel
// participation API and its Raft metrics.
type OrdererState struct {
	Name     string // orderer0.orderer
	Relation string // consenter, follower, …
	Status   string // active, onboarding, …
	Height   uint64
	Leader   bool // it reports that it leads the channel's Raft cluster
	// SeenLeader reports that its chain has taken in a Raft leader since
	// the process started (consensus_etcdraft_leader_changes > 0). A chain
	// stuck while it replays its log never does, even when its ledger
	// happens to be at the leader's height.
	SeenLeader bool
	Err        error
}

// leaderChangesMetric matches the count of leader changes the chain has
// taken in.
var leaderChangesMetric = regexp.MustCompile(`(?m)^consensus_etcdraft_leader_changes\{channel="` + ChannelName + `"\} ([0-9.e+]+)$`)

// ordererState asks one orderer for its channel membership, height and
// leadership.
func (l Layout) ordererState(ctx context.Context, o Node) OrdererState {
	st := OrdererState{Name: o.Name()}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg, err := l.tlsConfig(o)
	if err != nil {
		st.Err = err
		return st
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	url := "https://" + o.AdminAddress() + "/participation/v1/channels/" + ChannelName
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		st.Err = err
		return st
	}
	resp, err := hc.Do(req)
	if err != nil {
		st.Err = fmt.Errorf("channel participation API: %w", err)
		return st
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		st.Err = fmt.Errorf("channel participation API: %s: %s", resp.Status, strings.TrimSpace(string(body)))
		return st
	}
	var info struct {
		ConsensusRelation string `json:"consensusRelation"`
		Status            string `json:"status"`
		Height            uint64 `json:"height"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		st.Err = fmt.Errorf("channel participation API: %w", err)
		return st
	}
	st.Relation, st.Status, st.Height = info.ConsensusRelation, info.Status, info.Height
	if metrics, err := l.opsGet(ctx, o, "/metrics"); err == nil {
		st.Leader = isLeaderMetric.MatchString(metrics)
		if m := leaderChangesMetric.FindStringSubmatch(metrics); m != nil {
			n, _ := strconv.ParseFloat(m[1], 64)
			st.SeenLeader = n > 0
		}
	}
	return st
}

// OrdererStates asks every orderer for its state, in parallel.
func OrdererStates(ctx context.Context, l Layout) []OrdererState {
	t := DefaultTopology()
	out := make([]OrdererState, len(t.Orderers))
	_ = parallel(indexes(len(t.Orderers)), func(i int) error {
		out[i] = l.ordererState(ctx, t.Orderers[i])
		return nil
	})
	return out
}

// orderersInStep reports why the orderers do not all follow one Raft
// leader at its height, or nil. slack is how many blocks a follower may
// trail (blocks in flight).
func orderersInStep(states []OrdererState, slack uint64) error {
	var leader *OrdererState
	var errs []error
	for i := range states {
		s := &states[i]
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, s.Err))
			continue
		}
		if s.Relation != "consenter" || s.Status != "active" {
			errs = append(errs, fmt.Errorf("%s is a %s, %s (want an active consenter)", s.Name, s.Relation, s.Status))
		}
		if !s.SeenLeader {
			errs = append(errs, fmt.Errorf("%s has not taken in a Raft leader since it started", s.Name))
		}
		if s.Leader {
			if leader != nil {
				errs = append(errs, fmt.Errorf("%s and %s both report leading the channel", leader.Name, s.Name))
			}
			leader = s
		}
	}
	if leader == nil {
		return errors.Join(append(errs, errors.New("no orderer reports leading the channel"))...)
	}
	for _, s := range states {
		if s.Err == nil && s.Height+slack < leader.Height {
			errs = append(errs, fmt.Errorf("%s is at height %d, the leader %s at %d", s.Name, s.Height, leader.Name, leader.Height))
		}
	}
	return errors.Join(errs...)
}

// waitOrderersInStep waits until every orderer is an active consenter at
// the Raft leader's height. A restarted orderer replays its Raft log and
// catches up within seconds; one that does not is reported with what to
// do, rather than left to swallow the transactions sent to it.
func (l Layout) waitOrderersInStep(ctx context.Context, timeout time.Duration) error {
	var last error
	err := poll(ctx, "every orderer at the Raft leader's height", timeout, 500*time.Millisecond, func() error {
		last = orderersInStep(OrdererStates(ctx, l), 0)
		return last
	})
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w\n%s", err, ordererAdvice)
}

// ordererCatchUpTimeout bounds the wait for a restarted orderer to replay
// its Raft log and reach the leader's height.
const ordererCatchUpTimeout = 90 * time.Second

// ordererAdvice is what to do about an orderer that does not follow the
// cluster (docs/reliability.md, "An orderer that does not catch up").
const ordererAdvice = `An orderer that does not follow the Raft leader cannot order the transactions sent to it.
Look at its log (.quanchain/logs/orderer*.log) for "Raft leader", then restart it: make down && make up.
The network keeps ordering with two of three orderers meanwhile; see docs/reliability.md.`
