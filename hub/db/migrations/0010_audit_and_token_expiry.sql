-- Who did what with the issuer registry and the tokens, and every read of certificate verdicts
-- (allowed or refused): kept in the database the verdicts are in, never updated or deleted by the
-- hub. The actor is a token's scope, subject and label ("customs:PE/aduana"), "token:<first 8 hex
-- of its SHA-256>" for a token the hub does not know, "anonymous" without one, or "cli:<user>".
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL DEFAULT '',
    outcome  text NOT NULL,
    remote   text
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Tokens may expire; an expired token is refused like a revoked one.
ALTER TABLE publisher_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE access_tokens ADD COLUMN expires_at timestamptz;
