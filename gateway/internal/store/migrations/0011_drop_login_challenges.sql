-- Citizens log in at the identity provider (OpenID Connect): the gateway's
-- own one-time login codes are gone, and so is their table.
DROP TABLE IF EXISTS login_challenges;
