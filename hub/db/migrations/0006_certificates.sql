-- Digital certificates of origin (SPEC §3): the issuer registry, the verdicts (audit trail), and
-- tokens of customs authorities and administrators.

-- Trade agreements: loaded from the agreements file (HUB_AGREEMENTS_FILE) at every start.
CREATE TABLE agreements (
    code           text PRIMARY KEY,
    name           text NOT NULL,
    validity_days  integer CHECK (validity_days >= 1),     -- NULL: the hub's default
    schedule       text[] NOT NULL DEFAULT '{}',            -- HS prefixes covered; {} = all
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Issuing entities of each exporting country (EHId), and the agreements each may certify for.
CREATE TABLE issuing_entities (
    country     char(2) NOT NULL,
    eh_id       text NOT NULL CHECK (eh_id ~ '^[A-Za-z0-9]{3}$'),
    name        text NOT NULL,
    agreements  text[] NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (country, eh_id)
);

-- X.509 certificates of the entities' signing officials, with their enablement and revocation.
CREATE TABLE signing_officials (
    fingerprint        char(64) PRIMARY KEY,               -- SHA-256 of the DER, hex
    country            char(2) NOT NULL,
    eh_id              text NOT NULL,
    name               text NOT NULL,
    certificate_pem    text NOT NULL,
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    enabled_from       date,
    enabled_to         date,
    revoked_at         timestamptz,
    revocation_reason  text,
    registered_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (country, eh_id) REFERENCES issuing_entities (country, eh_id)
);
CREATE INDEX signing_officials_entity_idx ON signing_officials (country, eh_id);

-- Every verdict ever issued, one row per version: the audit trail customs read.
CREATE TABLE certificate_verdicts (
    id                   bigserial PRIMARY KEY,            -- the SSE event id
    certificate_id       text NOT NULL,
    version              integer NOT NULL,
    importing_country    char(2) NOT NULL,
    exporting_country    char(2) NOT NULL,
    outcome              text NOT NULL CHECK (outcome IN ('VALID', 'INVALID', 'PENDING')),
    failed               text[] NOT NULL,
    rules                jsonb NOT NULL,
    document_sha256      char(64) NOT NULL,
    declarations         text[] NOT NULL,
    submission_event_id  uuid NOT NULL,
    verdict              jsonb NOT NULL,                   -- as published
    issued_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (certificate_id, version)
);
CREATE INDEX certificate_verdicts_country_idx ON certificate_verdicts (importing_country, id);

-- Tokens of customs authorities (scope 'customs', subject = ISO country) and administrators
-- (scope 'admin'); like publisher tokens, only a SHA-256 is kept.
CREATE TABLE access_tokens (
    token_sha256  char(64) PRIMARY KEY,
    scope         text NOT NULL CHECK (scope IN ('customs', 'admin')),
    subject       text NOT NULL DEFAULT '',
    label         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
