-- Tenants of the Kafka tenant listener (SASL/SCRAM): one principal per port (writes its own
-- ports.<UNLOCODE>.* topics) and per customs authority (reads validations.<ISO2>). Their
-- passwords are not here: the broker keeps only a salted SCRAM-SHA-512 hash of each.
CREATE TABLE kafka_tenants (
    user_name          text PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('port', 'customs')),
    subject            text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    credential_set_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    UNIQUE (kind, subject)
);
