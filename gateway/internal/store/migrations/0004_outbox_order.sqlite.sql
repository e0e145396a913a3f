-- A webhook's deliveries go out one at a time, in outbox order. A delivery
-- that used up its attempts is parked: it and the webhook's later
-- deliveries wait until an administrator retries it.
ALTER TABLE outbox ADD COLUMN parked_at TEXT;
-- When a retry last released the item from the parked state.
ALTER TABLE outbox ADD COLUMN retried_at TEXT;
-- Items parked before this migration were due in the year 9999; the time
-- they were parked is not known, so their creation time stands in.
UPDATE outbox SET parked_at = created_at WHERE delivered_at IS NULL AND next_attempt_at >= '9999';
-- A webhook's queue: its undelivered items in order.
CREATE INDEX outbox_webhook_queue ON outbox (webhook_id, id) WHERE delivered_at IS NULL;
