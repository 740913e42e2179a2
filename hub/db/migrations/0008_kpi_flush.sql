-- Entity groups whose KPIs must be recomputed. The intake marks them in the batch that records
-- their events; the KPI flusher recomputes the oldest marks, publishes, then clears each mark it
-- saw unchanged. Many events of one port call between two flushes cost one recomputation, and a
-- worker that dies leaves its marks to the next. Keys are "<kind>:<entity>" groups, or
-- "deps:<kind>:<entity>": the declarations that depend on that call's or container's events.
CREATE SEQUENCE kpi_dirty_seq;
CREATE TABLE kpi_dirty (
    key  text PRIMARY KEY,
    seq  bigint NOT NULL DEFAULT nextval('kpi_dirty_seq')
);
CREATE INDEX kpi_dirty_seq_idx ON kpi_dirty (seq);

-- The stored event is only ever written whole and read whole by the hub (never queried inside),
-- and PostgreSQL parsing it into jsonb on every insert, then printing it back on every read, cost
-- more than the rest of recording it.
ALTER TABLE ingested_events ALTER COLUMN payload TYPE text;
