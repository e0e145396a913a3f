package client

import (
	"context"
	"time"
)

// SetSleep replaces how c waits for a Retry-After or a poll interval, so
// tests need not wait.
func SetSleep(c *Client, sleep func(context.Context, time.Duration) error) { c.sleep = sleep }
