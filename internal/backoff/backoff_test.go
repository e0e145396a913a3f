package backoff

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestNextDoublesUpToMax(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 5 * time.Second}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pauses %v, want %v", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Fatalf("after Reset: %s", d)
	}
	fixed := Backoff{Base: time.Second}
	for range 2 {
		if d := fixed.Next(); d != time.Second {
			t.Fatalf("pause %s: a Max below Base does not hold the pause at Base", d)
		}
	}
}

func TestJitterStaysWithinItsFraction(t *testing.T) {
	for range 200 {
		b := Backoff{Base: 100 * time.Millisecond, Max: 100 * time.Millisecond, Jitter: 0.5}
		if d := b.Next(); d < 100*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("pause %s outside [100ms, 150ms]", d)
		}
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := Backoff{Base: time.Minute}
		start := time.Now()
		if !b.Wait(context.Background()) || time.Since(start) != time.Minute {
			t.Fatalf("waited %s", time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start = time.Now()
		if b.Wait(ctx) || time.Since(start) != 10*time.Second {
			t.Fatalf("Wait past the context's end: %s", time.Since(start))
		}
	})
}

func TestNthIsNextWithoutState(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for n := 1; n <= 10; n++ {
		if d, want := b.Nth(n), b.Next(); d != want {
			t.Fatalf("Nth(%d) = %s, Next = %s", n, d, want)
		}
	}
	if d := b.Nth(1 << 20); d != time.Minute {
		t.Fatalf("Nth far past Max: %s", d)
	}
	if d := (&Backoff{}).Nth(5); d != 0 {
		t.Fatalf("zero value: %s", d)
	}
}
