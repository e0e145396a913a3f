-- The return URLs of an institution's app, registered with its API client:
-- a consent link (POST /v1/authorizations/{id}/consent-link) brings the
-- citizen back only to one of them, matched exactly. Space-separated; a
-- registered URL holds no white space.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
