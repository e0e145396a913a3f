package ratelimit

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestWindowRetryAfter: a refusal says how long until the oldest attempt
// leaves the window.
func TestWindowRetryAfter(t *testing.T) {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l := NewWindow(2, time.Minute, func() time.Time { return at })
	l.Take("k")
	at = at.Add(10 * time.Second)
	l.Take("k")
	at = at.Add(5 * time.Second)
	if ok, wait := l.Take("k"); ok || wait != 45*time.Second {
		t.Fatalf("third: %v, wait %s; want refused, 45s", ok, wait)
	}
	at = at.Add(45 * time.Second)
	if ok, _ := l.Take("k"); !ok {
		t.Fatal("refused once the first left the window")
	}
	if ok, wait := l.Take("k"); ok || wait != 10*time.Second {
		t.Fatalf("after: %v, wait %s; want refused, 10s", ok, wait)
	}
	if ok, _ := l.Take("other"); !ok {
		t.Fatal("another key was refused")
	}
}

// TestBucketsBurstThenRate runs in a synctest bubble, whose clock
// time.Sleep moves (x/time/rate reads time.Now).
func TestBucketsBurstThenRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBuckets(1, 3) // one a second, three at once
		for i := range 3 {
			if ok, _ := b.Take("k"); !ok {
				t.Fatalf("take %d of the burst refused", i+1)
			}
		}
		ok, wait := b.Take("k")
		if ok || wait <= 0 || wait > time.Second {
			t.Fatalf("over the burst: %v, wait %s; want refused within a second", ok, wait)
		}
		if ok, _ := b.Take("other"); !ok {
			t.Fatal("another key was refused")
		}
		time.Sleep(wait)
		if ok, _ := b.Take("k"); !ok {
			t.Fatal("refused after the wait it named: a refusal must not take a token")
		}
	})
}
