package fabconn

import (
	"testing"
	"time"
)

func TestCommitPace(t *testing.T) {
	var p commitPace
	if got := p.wait(); got != CommitWait {
		t.Fatalf("no commit seen: wait %s, want %s", got, CommitWait)
	}
	for range 20 {
		p.observe(300 * time.Millisecond)
	}
	if got := p.wait(); got != CommitWait {
		t.Fatalf("fast commits: wait %s, want the floor %s", got, CommitWait)
	}
	// Commits slowed by load: the wait grows with them, so transactions
	// that are only queued are not handed over again.
	for range 20 {
		p.observe(2 * time.Second)
	}
	if got := p.wait(); got < 7*time.Second || got > 8*time.Second {
		t.Fatalf("commits of 2 s: wait %s, want about 8 s", got)
	}
	for range 20 {
		p.observe(10 * time.Second)
	}
	if got := p.wait(); got != MaxCommitWait {
		t.Fatalf("commits of 10 s: wait %s, want the ceiling %s", got, MaxCommitWait)
	}
	// One slow commit among fast ones moves the wait little.
	var q commitPace
	for range 20 {
		q.observe(200 * time.Millisecond)
	}
	q.observe(8 * time.Second)
	if got := q.wait(); got != CommitWait {
		t.Fatalf("one slow commit: wait %s, want %s", got, CommitWait)
	}
}
