-- How a stored response is replayed: '' byte for byte, otherwise the name of
-- the gateway's replayer that rebuilds the response from the stored form (an
-- answered data request keeps the provider's delivery, still sealed to the
-- gateway's key, and is handed out again only while its authorisation is
-- usable).
ALTER TABLE idempotency ADD COLUMN replay_with text NOT NULL DEFAULT '';
-- Answered data requests stored before hold the decrypted records: drop them.
-- A retry of one asks the provider again under the same access id, which
-- records no second access.
DELETE FROM idempotency
 WHERE position('"access_id":'::bytea IN response_body) > 0
   AND position('"verified":'::bytea IN response_body) > 0;
