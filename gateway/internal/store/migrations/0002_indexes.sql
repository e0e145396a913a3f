-- Secondary indexes, the same on both backends (partial indexes included).

CREATE INDEX clients_org ON clients (org_msp);
CREATE INDEX idempotency_created ON idempotency (created_at);
CREATE INDEX webhooks_client ON webhooks (client_id);
-- Rows a sender may claim: not yet delivered, by due time.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
-- A citizen's safe, by category and date.
CREATE INDEX records_citizen ON records (citizen_ref, category, record_date);
-- Records waiting for a batch, in insertion order.
CREATE INDEX records_unbatched ON records (category, id) WHERE batch_id IS NULL;
CREATE INDEX batches_unanchored ON batches (created_at, id) WHERE anchored_tx_id IS NULL;
CREATE INDEX deliveries_authorization ON deliveries (authorization_id);
CREATE INDEX login_challenges_expiry ON login_challenges (expires_at);
