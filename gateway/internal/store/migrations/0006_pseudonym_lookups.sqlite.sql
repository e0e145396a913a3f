-- Every lookup of the operator's pseudonym service: which requester asked
-- for which citizen (vault_ref, the safe's own ref), what it received
-- (pairwise_ref, the ref only that requester knows the citizen by), for
-- which purpose and authorisation, and when. The ID number is never kept.
-- The provider finds the citizen of an authorisation here (pairwise ref →
-- vault ref); the citizen sees who looked them up.
CREATE TABLE pseudonym_lookups (
    id               INTEGER NOT NULL PRIMARY KEY,
    requester_msp    TEXT    NOT NULL,
    pairwise_ref     TEXT    NOT NULL,
    vault_ref        TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    authorization_id TEXT    NOT NULL,
    looked_up_at     TEXT    NOT NULL
) STRICT;
CREATE INDEX pseudonym_lookups_pairwise ON pseudonym_lookups (requester_msp, pairwise_ref);
CREATE INDEX pseudonym_lookups_citizen ON pseudonym_lookups (vault_ref, looked_up_at, id);
