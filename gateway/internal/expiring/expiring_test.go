package expiring

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The tests run in a synctest bubble: time.Sleep moves the bubble's clock,
// so deadlines are checked to the nanosecond without waiting for them.

func TestPutExpiresTTLAfterTheWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[string, int](time.Minute, 0)
		m.Put("a", 1)
		time.Sleep(time.Minute - time.Nanosecond)
		if v, ok := m.Get("a"); !ok || v != 1 {
			t.Fatalf("just before the deadline: Get = %d, %v; want 1, true", v, ok)
		}
		time.Sleep(time.Nanosecond)
		if v, ok := m.Get("a"); ok {
			t.Fatalf("at the deadline: Get = %d, true; want it expired", v)
		}
		if _, ok := m.Get("never"); ok {
			t.Fatal("Get of a key never stored found one")
		}
	})
}

func TestGetDoesNotExtend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[string, int](time.Minute, 0)
		m.Put("a", 1)
		for range 5 {
			time.Sleep(15 * time.Second)
			m.Get("a")
		}
		if _, ok := m.Get("a"); ok {
			t.Fatal("reads kept an entry alive past its deadline")
		}
	})
}

func TestTouchKeepsABusyEntryAndRenewsAnIdleOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[string, *int](10*time.Minute, 0)
		made := 0
		fresh := func() *int { made++; n := made; return &n }
		first := m.Touch("k", fresh)
		for range 12 { // two hours, touched every ten minutes less a nanosecond
			time.Sleep(10*time.Minute - time.Nanosecond)
			if got := m.Touch("k", fresh); got != first {
				t.Fatalf("a busy entry was replaced (value %d, want %d)", *got, *first)
			}
		}
		time.Sleep(10 * time.Minute)
		if got := m.Touch("k", fresh); got == first || *got != 2 {
			t.Fatalf("an entry idle for its ttl was kept (value %d)", *got)
		}
		if made != 2 {
			t.Fatalf("fresh called %d times, want 2", made)
		}
	})
}

func TestWritesSweepExpiredEntries(t *testing.T) {
	// Each step writes at its time from the start (a batch of 100 keys, or
	// one) and then checks how many entries are held, expired ones included.
	type step struct {
		at      time.Duration
		batch   bool
		wantLen int
	}
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []step
	}{
		{"a ttl over a minute: sweeps at most once a minute", 10 * time.Minute, []step{
			{0, true, 100}, // first write sweeps an empty map
			{9*time.Minute + 30*time.Second, false, 101}, // sweeps; nothing expired yet
			{10 * time.Minute, false, 102},               // the batch expired, but the last sweep was 30s ago
			{10*time.Minute + 30*time.Second, false, 3},  // a minute after the last sweep
		}},
		{"a ttl under a minute: sweeps at most once a ttl", 10 * time.Second, []step{
			{0, false, 1},                  // first write sweeps an empty map
			{time.Second, true, 101},       // no sweep
			{10 * time.Second, false, 101}, // sweeps: only the first entry expired
			{11 * time.Second, false, 102}, // the batch expired, but the last sweep was 1s ago
			{20 * time.Second, false, 2},   // sweeps
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := New[int, int](tt.ttl, 0)
				start := time.Now()
				next := 0
				for _, st := range tt.steps {
					time.Sleep(st.at - time.Since(start))
					n := 1
					if st.batch {
						n = 100
					}
					for range n {
						m.Put(next, next)
						next++
					}
					if got := m.Len(); got != st.wantLen {
						t.Fatalf("after the write at %v: Len = %d, want %d", st.at, got, st.wantLen)
					}
				}
			})
		})
	}
}

func TestBoundDropsEverythingForANewKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[string, int](time.Hour, 2)
		m.Put("a", 1)
		m.Put("b", 2)
		m.Put("a", 3) // an existing key: no drop
		if n := m.Len(); n != 2 {
			t.Fatalf("rewriting a key at the bound: Len = %d, want 2", n)
		}
		m.Put("c", 4)
		if n := m.Len(); n != 1 {
			t.Fatalf("a new key at the bound: Len = %d, want 1", n)
		}
		if _, ok := m.Get("a"); ok {
			t.Fatal("an entry outlived the drop")
		}
		if v, ok := m.Get("c"); !ok || v != 4 {
			t.Fatalf("Get(c) = %d, %v; want 4, true", v, ok)
		}
	})
}

func TestDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[string, int](time.Minute, 0)
		m.Put("a", 1)
		m.Put("b", 2)
		m.Delete("a")
		m.Delete("never")
		if v, ok := m.Get("a"); ok {
			t.Fatalf("Get(a) after Delete = %d, true; want none", v)
		}
		if n := m.Len(); n != 1 {
			t.Fatalf("Len = %d, want 1", n)
		}
		if got := m.Touch("a", func() int { return 3 }); got != 3 {
			t.Fatalf("Touch(a) after Delete = %d, want a fresh 3", got)
		}
		if v, ok := m.Get("b"); !ok || v != 2 {
			t.Fatalf("Get(b) = %d, %v; want 2, true", v, ok)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New[int, int](time.Second, 8)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					k := (g + i) % 16
					m.Put(k, i)
					m.Get(k)
					m.Touch(k, func() int { return i })
					if i%50 == 0 {
						time.Sleep(time.Second)
					}
				}
			})
		}
		wg.Wait()
		if n := m.Len(); n > 8 {
			t.Fatalf("Len = %d, over the bound of 8", n)
		}
	})
}
