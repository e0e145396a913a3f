// Package expiring is a map whose entries expire: the gateway's short-lived
// in-memory state, such as registry entries cached for display and the rate
// limiter's token buckets, kept within bounds without a goroutine of its own.
//
// # Expiry
//
// Every entry has a deadline, ttl after it was last written: Put sets it
// once, Touch moves it on at every call, so an entry touched at least once a
// ttl lives on. An entry past its deadline is never returned. Writes sweep
// the expired entries out, at most once a minute (once a ttl if that is
// shorter), so memory follows the live entries.
//
// # Bound
//
// A map made with a bound drops all its entries at once when a new key
// would take it past the bound: the cheapest fair rule for a cache whose
// entries can all be loaded again.
package expiring

import (
	"sync"
	"time"
)

// Map is a map from K to V whose entries expire. It is safe for concurrent
// use. The zero Map is not usable; make one with New.
type Map[K comparable, V any] struct {
	ttl        time.Duration
	max        int
	sweepEvery time.Duration

	mu    sync.Mutex
	m     map[K]entry[V]
	swept time.Time
}

type entry[V any] struct {
	v        V
	deadline time.Time
}

// New returns an empty map whose entries live ttl after their last write.
// max bounds the number of entries; 0 means no bound.
func New[K comparable, V any](ttl time.Duration, max int) *Map[K, V] {
	return &Map[K, V]{ttl: ttl, max: max, sweepEvery: min(ttl, time.Minute), m: map[K]entry[V]{}}
}

// Get returns the value at k, if there is one that has not expired.
func (m *Map[K, V]) Get(k K) (V, bool) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[k]
	if !ok || !now.Before(e.deadline) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v at k, to expire ttl from now.
func (m *Map[K, V]) Put(k K, v V) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.store(now, k, v)
}

// Touch returns the value at k, or, if there is none that has not expired,
// a new one made by fresh and stored at k; either way the entry now expires
// ttl from now.
func (m *Map[K, V]) Touch(k K, fresh func() V) V {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[k]
	if !ok || !now.Before(e.deadline) {
		e.v = fresh()
	}
	m.store(now, k, e.v)
	return e.v
}

// Delete removes the entry at k, if there is one.
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
}

// Len returns the number of entries held, expired ones not yet swept
// included.
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// store writes v at k with its deadline; m.mu is held.
func (m *Map[K, V]) store(now time.Time, k K, v V) {
	if now.Sub(m.swept) >= m.sweepEvery {
		for key, e := range m.m {
			if !now.Before(e.deadline) {
				delete(m.m, key)
			}
		}
		m.swept = now
	}
	if _, ok := m.m[k]; !ok && m.max > 0 && len(m.m) >= m.max {
		clear(m.m)
	}
	m.m[k] = entry[V]{v: v, deadline: now.Add(m.ttl)}
}
