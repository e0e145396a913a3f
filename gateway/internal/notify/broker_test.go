package notify

import (
	"fmt"
	"sync"
	"testing"
)

func ev(i int) Event {
	return Event{ID: fmt.Sprintf("%d:t%d", i, i), Name: "AuthorizationGranted", Block: uint64(i)}
}

func TestBrokerFanOutAndResume(t *testing.T) {
	b := NewBroker(8, 4)
	s1, replay, missed := b.Subscribe("")
	if len(replay) != 0 || missed {
		t.Fatalf("fresh subscription: replay %v, missed %v", replay, missed)
	}
	s2, _, _ := b.Subscribe("")
	for i := 1; i <= 6; i++ {
		b.Publish(ev(i))
	}
	for _, s := range []*Subscription{s1, s2} {
		for i := 1; i <= 6; i++ {
			if e := <-s.Events(); e.ID != ev(i).ID {
				t.Fatalf("got %s, want %s", e.ID, ev(i).ID)
			}
		}
	}

	// The last four are kept: a stream that saw 4 resumes with 5 and 6; one
	// that saw 1 has missed events.
	s3, replay, missed := b.Subscribe(ev(4).ID)
	if missed || len(replay) != 2 || replay[0].ID != ev(5).ID || replay[1].ID != ev(6).ID {
		t.Fatalf("resume: replay %v, missed %v", replay, missed)
	}
	_, replay, missed = b.Subscribe(ev(1).ID)
	if !missed || len(replay) != 0 {
		t.Fatalf("resume from a dropped event: replay %v, missed %v", replay, missed)
	}
	if _, replay, missed = b.Subscribe(ev(6).ID); missed || len(replay) != 0 {
		t.Fatalf("resume from the newest: replay %v, missed %v", replay, missed)
	}

	b.Unsubscribe(s3)
	b.Unsubscribe(s3) // twice is harmless
	if _, open := <-s3.Events(); open {
		t.Fatal("an unsubscribed channel stays open")
	}
}

func TestBrokerDropsSlowSubscriber(t *testing.T) {
	b := NewBroker(2, 0)
	slow, _, _ := b.Subscribe("")
	fast, _, _ := b.Subscribe("")
	got := make(chan int)
	go func() {
		n := 0
		for range fast.Events() {
			n++
		}
		got <- n
	}()
	for i := 1; i <= 100; i++ {
		b.Publish(ev(i)) // never blocks, though slow reads nothing
	}
	n := 0
	for range slow.Events() { // closed after its two buffered events
		n++
	}
	if n != 2 {
		t.Fatalf("slow subscriber received %d events before being dropped, want 2", n)
	}
	if b.Subscribers() > 1 {
		t.Fatalf("%d subscribers left", b.Subscribers())
	}
	b.Unsubscribe(slow) // after a drop, harmless
	b.Unsubscribe(fast)
	if n := <-got; n < 2 || n > 100 {
		t.Fatalf("fast subscriber received %d", n)
	}
}

// TestBrokerConcurrent runs publishers, subscribers and unsubscribers at
// once; with -race it checks the broker's locking.
func TestBrokerConcurrent(t *testing.T) {
	b := NewBroker(16, 64)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b.Publish(ev(p*1000 + i))
			}
		}()
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				s, _, _ := b.Subscribe(ev(3).ID)
				for range 3 {
					select {
					case <-s.Events():
					default: // the publishers may be done
					}
				}
				b.Unsubscribe(s)
			}
		}()
	}
	wg.Wait()
	if n := b.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
}
