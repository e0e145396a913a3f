-- Salts that keep the ledger's commitments from being guessed.
-- A record's salt: 32 random bytes drawn at import; its Merkle leaf is
-- SHA-256(0x00 ‖ salt ‖ record hash). NULL for records imported before, whose
-- leaves were SHA-256(0x00 ‖ record hash) and stay so.
ALTER TABLE records ADD COLUMN salt BLOB CHECK (salt IS NULL OR length(salt) = 32);
-- A delivery's salt: 32 random bytes, sealed to the requester with the
-- delivery; the digest on the ledger is SHA-256(salt ‖ delivered bytes). NULL
-- for deliveries made before, whose digest was SHA-256(delivered bytes).
ALTER TABLE deliveries ADD COLUMN digest_salt BLOB CHECK (digest_salt IS NULL OR length(digest_salt) = 32);
