-- The certificate trust lifecycle (issue 19): a change of the issuer registry re-evaluates the
-- verdicts it can affect, and each version it issues says why.

-- Why a version was issued when it was not an event's doing: the registry change (its id,
-- kind, detail and time). NULL for versions issued by events.
ALTER TABLE certificate_verdicts ADD COLUMN cause jsonb;

-- The outbox of registry changes, written in the transaction of the change itself; the
-- workers claim each (FOR UPDATE SKIP LOCKED), re-evaluate the certificates it can affect,
-- publish the new versions and only then set processed_at (a crash redoes the change).
CREATE TABLE registry_changes (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,        -- OFFICIAL_REVOKED, OFFICIAL_ADDED, ...
    detail        text NOT NULL,        -- one line for customs: what changed
    change        jsonb NOT NULL,       -- the same, as data (fingerprint, dates, agreements)
    countries     text[] NOT NULL DEFAULT '{}',   -- exporting countries affected; {} = all
    agreements    text[] NOT NULL DEFAULT '{}',   -- agreements concerned (informative)
    only_failed   text,                 -- only certificates whose verdict failed this rule
    changed_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX registry_changes_pending_idx ON registry_changes (id) WHERE processed_at IS NULL;
