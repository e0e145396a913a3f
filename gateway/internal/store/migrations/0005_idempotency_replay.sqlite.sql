-- How a stored response is replayed: '' byte for byte, otherwise the name of
-- the gateway's replayer that rebuilds the response from the stored form (an
-- answered data request keeps the provider's delivery, still sealed to the
-- gateway's key, and is handed out again only while its authorisation is
-- usable).
ALTER TABLE idempotency ADD COLUMN replay_with TEXT NOT NULL DEFAULT '';
-- Answered data requests stored before hold the decrypted records: drop them.
-- A retry of one asks the provider again under the same access id, which
-- records no second access.
DELETE FROM idempotency
 WHERE instr(response_body, CAST('"access_id":' AS BLOB)) > 0
   AND instr(response_body, CAST('"verified":' AS BLOB)) > 0;
