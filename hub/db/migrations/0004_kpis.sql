-- Logistics KPIs: the event store the KPI stage recomputes from, one row per entity KPI, and
-- one row per port, window and KPI.

-- The accepted event itself (its model as JSON), what the KPI stage recomputes from.
ALTER TABLE ingested_events ADD COLUMN payload jsonb;

-- The entities each event concerns, as "<kind>:<port>/<id>" keys (streams.kpi_stage:
-- stored_keys). Reference keys ("ref_call:…", "ref_container:…") mark what a customs
-- declaration depends on. A plain btree per key: a GIN overlap (&&) of a batch's thousand keys
-- made PostgreSQL scan the whole event table.
CREATE TABLE event_entity_keys (
    key       text NOT NULL,
    event_id  uuid NOT NULL,
    PRIMARY KEY (key, event_id)
);

CREATE TABLE entity_kpis (
    entity_kind  text NOT NULL,
    entity_id    text NOT NULL,
    group_id     text NOT NULL,               -- what is recomputed together: the entity, or
                                              -- "<port>/<container>" for all its visits
    kpi          text NOT NULL,
    port         char(5) NOT NULL,
    value        double precision,            -- NULL: open (an end is not known yet)
    unit         text NOT NULL,
    anchor_time  timestamptz,                 -- the event time that places it in a window
    flag         text,                        -- NEGATIVE_INTERVAL, OPEN
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_kind, entity_id, kpi)
);
CREATE INDEX entity_kpis_port_anchor_idx ON entity_kpis (port, kpi, anchor_time);
CREATE INDEX entity_kpis_group_idx ON entity_kpis (entity_kind, group_id);

CREATE TABLE kpi_windows (
    port          char(5) NOT NULL,
    granularity   text NOT NULL CHECK (granularity IN ('hour', 'day')),
    window_start  timestamptz NOT NULL,
    kpi           text NOT NULL,
    unit          text NOT NULL,
    count         bigint NOT NULL,
    total         double precision NOT NULL,
    mean          double precision NOT NULL,
    median        double precision NOT NULL,
    p90           double precision NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (port, granularity, window_start, kpi)
);
