package expiring

import (
	"context"
	"time"
)

// Cache keeps what load returns a short while, so a list of twenty
// authorisations from three banks costs three registry lookups. Only hits
// are kept; at most CacheMax entries, dropped all at once beyond that. It
// is safe for concurrent use; two callers missing one key at once both
// load it.
type Cache[V any] struct {
	m    *Map[string, V]
	load func(context.Context, string) (V, error)
}

// CacheMax bounds the entries of a Cache.
const CacheMax = 1024

// NewCache returns a cache whose entries live ttl after they were loaded.
func NewCache[V any](ttl time.Duration, load func(context.Context, string) (V, error)) *Cache[V] {
	return &Cache[V]{m: New[string, V](ttl, CacheMax), load: load}
}

// Get returns the value of key: the kept one, or a fresh load, kept if it
// did not fail.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	if v, ok := c.m.Get(key); ok {
		return v, nil
	}
	v, err := c.load(ctx, key)
	if err != nil {
		return v, err
	}
	c.m.Put(key, v)
	return v, nil
}
