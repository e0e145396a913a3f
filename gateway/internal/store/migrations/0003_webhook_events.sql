-- Which chaincode events a webhook receives: event names, space-separated;
-- empty means every event the gateway forwards to its organisation.
ALTER TABLE webhooks ADD COLUMN events TEXT NOT NULL DEFAULT '';
