-- The gateway's tables, SQLite edition. Keep in step with
-- 0001_schema.postgres.sql: same tables, columns, constraints and order;
-- only the types differ. Timestamps are fixed-width UTC RFC 3339 text
-- (2006-01-02T15:04:05.000000Z), so text order is time order; booleans are
-- 0/1 integers; STRICT tables refuse values of the wrong type.

-- API clients of institutions (OAuth2 client credentials).
CREATE TABLE clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_msp     TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,           -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    scopes      TEXT    NOT NULL DEFAULT '', -- space-separated, as in OAuth2
    created_at  TEXT    NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- Idempotency keys of writing requests, per principal (an API client id or
-- a citizenRef).
CREATE TABLE idempotency (
    client_id       TEXT    NOT NULL,
    idem_key        TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
    response_status INTEGER,
    response_body   BLOB,
    created_at      TEXT    NOT NULL,
    started_at      TEXT    NOT NULL, -- when the current attempt began
    completed_at    TEXT,
    PRIMARY KEY (client_id, idem_key)
) STRICT;

CREATE TABLE webhooks (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (id),
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL, -- HMAC key the deliveries are signed with
    created_at TEXT    NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- Webhook deliveries waiting or done: a table, so they survive a restart.
CREATE TABLE outbox (
    id              INTEGER NOT NULL PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,   -- set while a sender holds the row
    delivered_at    TEXT,
    last_error      TEXT,
    UNIQUE (webhook_id, event_id)
) STRICT;

-- Where each chaincode event listener resumes.
CREATE TABLE cursors (
    name         TEXT    NOT NULL PRIMARY KEY,
    block_number INTEGER NOT NULL CHECK (block_number >= 0),
    updated_at   TEXT    NOT NULL
) STRICT;

-- Digital safe: Merkle batches anchored on the ledger.
CREATE TABLE batches (
    id             TEXT    NOT NULL PRIMARY KEY,
    category       TEXT    NOT NULL,
    root           TEXT    NOT NULL, -- hex RFC 6962 tree head
    leaf_count     INTEGER NOT NULL CHECK (leaf_count > 0),
    created_at     TEXT    NOT NULL,
    anchored_tx_id TEXT,
    anchored_at    TEXT
) STRICT;

-- The leaf hashes of each batch in leaf order, SHA-256(0x00 ‖ record hash).
CREATE TABLE batch_leaves (
    batch_id  TEXT    NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL CHECK (idx >= 0),
    leaf_hash TEXT    NOT NULL,
    PRIMARY KEY (batch_id, idx)
) STRICT;

-- Digital safe: the provider's records, bodies exactly as hashed.
CREATE TABLE records (
    id          INTEGER NOT NULL PRIMARY KEY,
    citizen_ref TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    record_date TEXT    NOT NULL, -- YYYY-MM-DD, compared as text
    body        BLOB    NOT NULL,
    record_hash TEXT    NOT NULL UNIQUE,
    batch_id    TEXT    REFERENCES batches (id),
    leaf_index  INTEGER,
    revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    created_at  TEXT    NOT NULL,
    UNIQUE (batch_id, leaf_index),
    CHECK ((batch_id IS NULL) = (leaf_index IS NULL))
) STRICT;

-- Receipts of the deliveries this provider made (one per ledger access).
CREATE TABLE deliveries (
    access_id        TEXT NOT NULL PRIMARY KEY,
    authorization_id TEXT NOT NULL,
    requester_msp    TEXT NOT NULL,
    digest           TEXT NOT NULL, -- hex SHA-256 of exactly the bytes delivered
    created_at       TEXT NOT NULL,
    tx_id            TEXT           -- the access transaction, once committed
) STRICT;

-- Citizen login one-time codes. The ID number, name and phone are never
-- stored: only the citizenRef and a hash of the code.
CREATE TABLE login_challenges (
    id          TEXT    NOT NULL PRIMARY KEY,
    citizen_ref TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL
) STRICT;
