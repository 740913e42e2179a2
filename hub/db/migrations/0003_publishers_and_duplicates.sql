-- Publisher tokens of the HTTP ingestion API, and duplicate deliveries counted apart.

-- Only a SHA-256 of each token is kept; the token itself is shown once, when it is created.
CREATE TABLE publisher_tokens (
    token_sha256  char(64) PRIMARY KEY,
    port          char(5) NOT NULL REFERENCES ports (unlocode),
    label         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX publisher_tokens_port_idx ON publisher_tokens (port);

-- Events delivered again under an event_id already taken in: accepted, counted once in
-- `events`, and here, so that accepted + rejected always adds up to what was sent.
ALTER TABLE port_event_counts ADD COLUMN duplicates bigint NOT NULL DEFAULT 0;
