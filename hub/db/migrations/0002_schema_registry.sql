-- The hub's embedded, Confluent-compatible schema registry (hub/registry/).

-- Each distinct schema once, whatever subjects use it: its id is what producers put in the
-- 5-byte prefix of every Avro message, so an id, once given, never changes meaning.
-- `canonical` is the schema's JSON with sorted keys and no whitespace (the de-duplication key);
-- `fingerprint` is the SHA-256 of `canonical` in hex, and carries the uniqueness: a unique
-- b-tree index on the canonical text itself would refuse schemas larger than a b-tree entry
-- (about 2.7 kB after compression), which real event schemas reach.
CREATE TABLE registry_schemas (
    id           integer GENERATED ALWAYS AS IDENTITY (START WITH 1) PRIMARY KEY,
    schema_text  text NOT NULL,
    canonical    text NOT NULL,
    fingerprint  char(64) NOT NULL UNIQUE CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The versions of each subject. A soft-deleted version keeps its row (and its schema), so
-- that messages already written with it can still be read; registering the same schema again
-- under the subject brings the row back as the subject's newest version.
CREATE TABLE registry_versions (
    subject        text NOT NULL CHECK (subject <> ''),
    version        integer NOT NULL CHECK (version > 0),
    schema_id      integer NOT NULL REFERENCES registry_schemas (id),
    deleted        boolean NOT NULL DEFAULT false,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, version),
    UNIQUE (subject, schema_id)
);
CREATE INDEX registry_versions_schema_idx ON registry_versions (schema_id);

-- Compatibility level per subject; the row with the empty subject is the global default.
-- The allowed values are those of schemas.compatibility.CompatibilityLevel.
CREATE TABLE registry_config (
    subject        text PRIMARY KEY,
    compatibility  text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

INSERT INTO registry_config (subject, compatibility) VALUES ('', 'BACKWARD');
