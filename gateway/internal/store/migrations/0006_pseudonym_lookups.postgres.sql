-- Every lookup of the operator's pseudonym service: which requester asked
-- for which citizen (vault_ref, the safe's own ref), what it received
-- (pairwise_ref, the ref only that requester knows the citizen by), for
-- which purpose and authorisation, and when. The ID number is never kept.
-- The provider finds the citizen of an authorisation here (pairwise ref →
-- vault ref); the citizen sees who looked them up.
CREATE TABLE pseudonym_lookups (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requester_msp    text        NOT NULL,
    pairwise_ref     text        NOT NULL,
    vault_ref        text        NOT NULL,
    purpose          text        NOT NULL,
    authorization_id text        NOT NULL,
    looked_up_at     timestamptz NOT NULL
);
CREATE INDEX pseudonym_lookups_pairwise ON pseudonym_lookups (requester_msp, pairwise_ref);
CREATE INDEX pseudonym_lookups_citizen ON pseudonym_lookups (vault_ref, looked_up_at, id);
