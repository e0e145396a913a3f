-- API clients that authenticate with a signed client assertion
-- (private_key_jwt, RFC 7523) instead of a secret: the client's public key,
-- a P-256 JWK in canonical form. A key client has an empty secret_hash, which
-- no secret verifies against; a secret client has public_jwk NULL.
ALTER TABLE clients ADD COLUMN public_jwk text;
-- The jti of every client assertion accepted, until the assertion expires:
-- an assertion is accepted once.
CREATE TABLE client_assertion_jtis (
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);
