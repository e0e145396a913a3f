package httpapi

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestLoginAddressLimitAtDocumentedRate: the per-address limit a citizen
// API gets by default is 5 attempts in any minute, on the wall clock (the
// synctest bubble's, which time.Sleep moves): five at once pass, a sixth 12
// seconds later does not (the token bucket it replaces had refilled one
// by then, letting 10 through in the first minute), and one passes again
// when the first attempt is a minute old.
func TestLoginAddressLimitAtDocumentedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCitizenHarnessAPI(t)
		allow := func() bool { ok, _ := c.limits.perAddress.Take("198.51.100.7"); return ok }
		for i := range 5 {
			if !allow() {
				t.Fatalf("attempt %d refused", i+1)
			}
		}
		passed := 0
		for range 59 {
			time.Sleep(time.Second)
			if allow() {
				passed++
			}
		}
		if passed != 0 {
			t.Fatalf("%d more attempts passed within the minute, want 0", passed)
		}
		time.Sleep(time.Second)
		if !allow() {
			t.Fatal("an attempt a minute after the first was refused")
		}
		if ok, _ := c.limits.perAddress.Take("203.0.113.9"); !ok {
			t.Fatal("another address was refused")
		}
	})
}

// newCitizenHarnessAPI is a citizen API with the default limits.
func newCitizenHarnessAPI(t *testing.T) *CitizenAPI {
	t.Helper()
	c, err := NewCitizenAPI(CitizenConfig{Ledger: nilCitizenLedger{}, Store: nilCitizenStore{}, Channel: "ch"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nilCitizenLedger and nilCitizenStore satisfy NewCitizenAPI for tests
// that touch only the API's own state.
type (
	nilCitizenLedger struct{ CitizenLedger }
	nilCitizenStore  struct{ CitizenStore }
)
