-- Signed webhooks (issue 19): subscriptions with their filters, and the notifications to deliver.
--
-- A subscription belongs to its owner (the token's identity: 'port:PECLL', 'customs:PE',
-- 'kpis:', 'admin:'); the filters are lists, an empty one meaning any. `country` restricts a
-- customs owner's subscription to its own country (verdicts it imports, customs events of its
-- ports). The secret is kept as given: an HMAC needs the secret itself (see docs/security.md).
CREATE TABLE webhook_subscriptions (
    id                  uuid PRIMARY KEY,
    owner               text NOT NULL,
    callback_url        text NOT NULL,
    secret              text NOT NULL,
    kinds               text[] NOT NULL,
    ports               text[] NOT NULL DEFAULT '{}',
    event_types         text[] NOT NULL DEFAULT '{}',
    containers          text[] NOT NULL DEFAULT '{}',
    declarations        text[] NOT NULL DEFAULT '{}',
    certificates        text[] NOT NULL DEFAULT '{}',
    kpis                text[] NOT NULL DEFAULT '{}',
    countries           text[] NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    failures            integer NOT NULL DEFAULT 0,
    last_error          text,
    last_delivery_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    secret_rotated_at   timestamptz
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner);

-- One notification for one subscription: at-least-once, kept across restarts. `id` is the
-- Request-Id (the same on every attempt); `dedupe_key` (an event id, a verdict version, a KPI
-- value's digest) makes a record read twice one notification. A delivered row stays a while
-- (delivered_at set) so that a record read again after a crash is not notified again.
CREATE TABLE webhook_deliveries (
    id                  uuid PRIMARY KEY,
    subscription_id     uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    dedupe_key          text NOT NULL,
    body                text NOT NULL,
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    last_error          text,
    UNIQUE (subscription_id, dedupe_key)
);
-- What the senders claim: the pending rows, by when they are due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL;
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;
