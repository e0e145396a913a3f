-- The gateway's tables, PostgreSQL edition. Keep in step with
-- 0001_schema.sqlite.sql: same tables, columns, constraints and order; only
-- the types differ (timestamptz, boolean, bytea, identity columns).

-- API clients of institutions (OAuth2 client credentials).
CREATE TABLE clients (
    id          text        NOT NULL PRIMARY KEY,
    org_msp     text        NOT NULL,
    secret_hash text        NOT NULL,           -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    scopes      text        NOT NULL DEFAULT '', -- space-separated, as in OAuth2
    created_at  timestamptz NOT NULL,
    disabled    boolean     NOT NULL DEFAULT false
);

-- Idempotency keys of writing requests, per principal (an API client id or
-- a citizenRef).
CREATE TABLE idempotency (
    client_id       text        NOT NULL,
    idem_key        text        NOT NULL,
    request_hash    text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'done')),
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz NOT NULL, -- when the current attempt began
    completed_at    timestamptz,
    PRIMARY KEY (client_id, idem_key)
);

CREATE TABLE webhooks (
    id         text        NOT NULL PRIMARY KEY,
    client_id  text        NOT NULL REFERENCES clients (id),
    url        text        NOT NULL,
    secret     text        NOT NULL, -- HMAC key the deliveries are signed with
    created_at timestamptz NOT NULL,
    disabled   boolean     NOT NULL DEFAULT false
);

-- Webhook deliveries waiting or done: a table, so they survive a restart.
CREATE TABLE outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      text        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    payload         bytea       NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz, -- set while a sender holds the row
    delivered_at    timestamptz,
    last_error      text,
    UNIQUE (webhook_id, event_id)
);

-- Where each chaincode event listener resumes.
CREATE TABLE cursors (
    name         text        NOT NULL PRIMARY KEY,
    block_number bigint      NOT NULL CHECK (block_number >= 0),
    updated_at   timestamptz NOT NULL
);

-- Digital safe: Merkle batches anchored on the ledger.
CREATE TABLE batches (
    id             text        NOT NULL PRIMARY KEY,
    category       text        NOT NULL,
    root           text        NOT NULL, -- hex RFC 6962 tree head
    leaf_count     integer     NOT NULL CHECK (leaf_count > 0),
    created_at     timestamptz NOT NULL,
    anchored_tx_id text,
    anchored_at    timestamptz
);

-- The leaf hashes of each batch in leaf order, SHA-256(0x00 ‖ record hash).
CREATE TABLE batch_leaves (
    batch_id  text    NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    idx       integer NOT NULL CHECK (idx >= 0),
    leaf_hash text    NOT NULL,
    PRIMARY KEY (batch_id, idx)
);

-- Digital safe: the provider's records, bodies exactly as hashed.
CREATE TABLE records (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    citizen_ref text        NOT NULL,
    category    text        NOT NULL,
    record_date text        NOT NULL, -- YYYY-MM-DD, compared as text on both backends
    body        bytea       NOT NULL,
    record_hash text        NOT NULL UNIQUE,
    batch_id    text        REFERENCES batches (id),
    leaf_index  integer,
    revoked     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    UNIQUE (batch_id, leaf_index),
    CHECK ((batch_id IS NULL) = (leaf_index IS NULL))
);

-- Receipts of the deliveries this provider made (one per ledger access).
CREATE TABLE deliveries (
    access_id        text        NOT NULL PRIMARY KEY,
    authorization_id text        NOT NULL,
    requester_msp    text        NOT NULL,
    digest           text        NOT NULL, -- hex SHA-256 of exactly the bytes delivered
    created_at       timestamptz NOT NULL,
    tx_id            text                  -- the access transaction, once committed
);

-- Citizen login one-time codes. The ID number, name and phone are never
-- stored: only the citizenRef and a hash of the code.
CREATE TABLE login_challenges (
    id          text        NOT NULL PRIMARY KEY,
    citizen_ref text        NOT NULL,
    code_hash   text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);
