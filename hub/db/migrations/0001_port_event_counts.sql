-- Reference ports, the events the workers have taken in, and the workers' heartbeats.

CREATE TABLE ports (
    unlocode    char(5) PRIMARY KEY CHECK (unlocode ~ '^[A-Z]{2}[A-Z2-9]{3}$'),
    name        text NOT NULL,
    country     char(2) NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per accepted event: the de-duplication key of at-least-once delivery.
CREATE TABLE ingested_events (
    event_id     uuid PRIMARY KEY,
    domain       text NOT NULL,
    event_type   text NOT NULL,
    port         char(5) NOT NULL,
    occurred_at  timestamptz NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingested_events_port_idx ON ingested_events (port, occurred_at);

-- Running totals per port and domain, kept in step with ingested_events in one statement,
-- so that /v1/ports never counts a table of hundreds of millions of rows.
CREATE TABLE port_event_counts (
    port           char(5) NOT NULL,
    domain         text NOT NULL,
    events         bigint NOT NULL DEFAULT 0,
    last_event_at  timestamptz,
    PRIMARY KEY (port, domain)
);

-- Rejected input by reason; the rejected records themselves are on the dead-letter topic.
CREATE TABLE rejected_event_counts (
    domain   text NOT NULL,
    reason   text NOT NULL,
    events   bigint NOT NULL DEFAULT 0,
    last_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, reason)
);

CREATE TABLE worker_heartbeats (
    worker_id    text PRIMARY KEY,
    host         text NOT NULL,
    pid          integer NOT NULL,
    started_at   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    events_in    bigint NOT NULL DEFAULT 0
);
