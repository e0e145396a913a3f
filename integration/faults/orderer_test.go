package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/quanchain/quanchain/network/fabnet"
)

// TestOrdererCrashes kills orderers with SIGKILL while four clients submit,
// alternating the Raft leader and a follower, and restarts each: traffic
// goes on with two of three orderers, no submission is lost or hangs, and
// the restarted orderer is back at the leader's height.
func TestOrdererCrashes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	tr := startTraffic(t, 4)
	for i := range cycles(2) {
		states := testNet.Orderers(ctx)
		victim := pick(states, i%2 == 0)
		if victim == "" {
			t.Fatalf("cycle %d: no orderer to kill in %+v", i, states)
		}
		before := tr.committed()
		if err := testNet.Kill(victim); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		// Traffic goes on with two orderers: after a leader's crash, once
		// the others have elected a new one (about 5 s: Raft's election
		// timeout) and the submissions handed to the dead one have been
		// handed over again.
		if err := waitFor(ctx, 40*time.Second, func() error {
			if tr.committed() <= before+4 {
				return fmt.Errorf("%d transactions committed since %s was killed", tr.committed()-before, victim)
			}
			return nil
		}); err != nil {
			t.Fatalf("cycle %d: traffic did not resume without %s: %v", i, victim, err)
		}
		resumed := time.Since(killed)
		if err := testNet.Up(ctx); err != nil {
			t.Fatalf("cycle %d: restart after killing %s: %v", i, victim, err)
		}
		t.Logf("cycle %d: killed %s (leader: %v); traffic resumed after %s; restarted and back at the leader's height %s after the kill",
			i, victim, i%2 == 0, resumed.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	tr.stop(ctx)
	for _, s := range testNet.Orderers(ctx) {
		t.Logf("%s: %s %s height %d leader %v", s.Name, s.Relation, s.Status, s.Height, s.Leader)
	}
}

// pick returns the leader's name, or a follower's, or "".
func pick(states []fabnet.OrdererState, leader bool) string {
	for _, s := range states {
		if s.Err == nil && s.Leader == leader {
			return s.Name
		}
	}
	return ""
}

// TestDownUpCycles stops the whole network (`make down`) and brings it up
// again (`make up`) on the same ledger, with traffic between the cycles:
// every cycle resumes with every orderer following the leader at its
// height, and nothing submitted before a stop is lost.
func TestDownUpCycles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	for i := range cycles(2) {
		tr := startTraffic(t, 4)
		time.Sleep(3 * time.Second)
		tr.stop(ctx)
		start := time.Now()
		if err := testNet.Down(ctx); err != nil {
			t.Fatalf("cycle %d: down: %v", i, err)
		}
		if err := testNet.Up(ctx); err != nil {
			t.Fatalf("cycle %d: up: %v", i, err)
		}
		t.Logf("cycle %d: %d transactions before the stop; down and up in %s", i, tr.committed(), time.Since(start).Round(100*time.Millisecond))
	}
}
