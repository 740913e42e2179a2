-- Regional indicators (SPEC §4): one row per level, entity, period and indicator, recomputed by
-- the workers' indicator job from the entity KPIs, the events and the certificate verdicts.
CREATE TABLE indicators (
    level         text NOT NULL CHECK (level IN ('port', 'country', 'mechanism', 'region')),
    entity        text NOT NULL,
    period        text NOT NULL CHECK (period IN ('day', 'month')),
    period_start  timestamptz NOT NULL,
    indicator     text NOT NULL,
    unit          text NOT NULL,
    count         bigint NOT NULL,               -- the entities behind the value
    value         double precision,              -- NULL: undefined (see detail)
    median        double precision,
    p90           double precision,
    detail        text,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (level, entity, period, period_start, indicator)
);
CREATE INDEX indicators_period_idx ON indicators (period, period_start);

-- Where the indicator job got to: events ingested and KPIs computed after this are new.
CREATE TABLE indicator_progress (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    day_since    timestamptz NOT NULL,
    month_since  timestamptz NOT NULL
);

-- What changed since the job's last run, found without reading whole tables.
CREATE INDEX ingested_events_ingested_at_idx ON ingested_events (ingested_at);
CREATE INDEX entity_kpis_computed_at_idx ON entity_kpis (computed_at);
CREATE INDEX certificate_verdicts_issued_at_idx ON certificate_verdicts (issued_at);
CREATE INDEX ingested_events_domain_time_idx ON ingested_events (domain, occurred_at);
