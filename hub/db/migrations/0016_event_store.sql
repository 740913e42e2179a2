-- The event store at region scale (issue 18, item 4): ingested_events partitioned by month of
-- occurred_at, each event's entity keys in indexed columns of its own row instead of a row per
-- key in event_entity_keys, and whole months dropped after the retention (HUB_RETENTION_MONTHS).
-- Existing events and keys are copied into the new layout; hub/db/event_keys.py says which key
-- goes where.
--
-- De-duplication: a partitioned table's primary key must hold its partition key, so the key is
-- (event_id, occurred_at). An event delivered again with the same occurred_at meets its stored
-- row there; hub.db.events.record_events also looks for the id among the events stored with an
-- occurred_at within the de-duplication window (the late grace, HUB_LATE_GRACE_HOURS) around
-- the new one's, in the partitions of that window only. One id stored with event times further
-- apart than that is two events: the grace refuses anything older anyway.

ALTER TABLE ingested_events RENAME TO ingested_events_before_0016;
ALTER INDEX ingested_events_pkey RENAME TO ingested_events_before_0016_pkey;
DROP INDEX ingested_events_port_idx;
DROP INDEX ingested_events_ingested_at_idx;
DROP INDEX ingested_events_domain_time_idx;
DROP INDEX ingested_vessel_events_idx;

-- Fixed-width columns first (no alignment padding); a key column an event has no key for is
-- NULL, which costs a bit in the row's null bitmap.
CREATE TABLE ingested_events (
    event_id        uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    retracted_move  uuid,             -- move:<port>/<id> of the move a retraction retracts
    own_move        boolean NOT NULL DEFAULT false,  -- move:<port>/<event_id>: a DISC or LOAD
    port            char(5) NOT NULL,
    domain          text NOT NULL,
    event_type      text NOT NULL,
    port_call_id    text,             -- port_call:<port>/<id>
    container       text,             -- container:<port>/<id>
    truck_visit_id  text,             -- truck_visit:<port>/<id>
    declaration_id  text,             -- declaration:<port>/<id>
    ref_call_id     text,             -- ref_call:<port>/<id>: the call a customs event names
    certificate_id  text,             -- certificate:<id>
    origin          text,
    payload         text,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Rows are appended in ingested_at order: a BRIN index finds what changed since a moment
-- (hub.db.indicator_store.changed_days) for a few bytes per thousand events, where a btree cost
-- ~30 bytes and its upkeep per event.
CREATE INDEX ingested_events_ingested_at_idx ON ingested_events USING brin (ingested_at);
CREATE INDEX ingested_events_domain_time_idx ON ingested_events (domain, occurred_at);
-- Vessel events are a few in a thousand: the calls under way of a port, and the AIS bridge's
-- feed, are read from indexes of those alone (the old (port, occurred_at) held every event).
CREATE INDEX ingested_vessel_events_idx ON ingested_events (ingested_at) WHERE domain = 'vessel';
CREATE INDEX ingested_vessel_events_port_idx ON ingested_events (port, occurred_at)
    WHERE domain = 'vessel';
-- One partial index per key column: only the events that have such a key are in it.
CREATE INDEX ingested_events_port_call_idx ON ingested_events (port, port_call_id)
    WHERE port_call_id IS NOT NULL;
CREATE INDEX ingested_events_container_idx ON ingested_events (port, container)
    WHERE container IS NOT NULL;
CREATE INDEX ingested_events_truck_visit_idx ON ingested_events (port, truck_visit_id)
    WHERE truck_visit_id IS NOT NULL;
CREATE INDEX ingested_events_declaration_idx ON ingested_events (port, declaration_id)
    WHERE declaration_id IS NOT NULL;
CREATE INDEX ingested_events_ref_call_idx ON ingested_events (port, ref_call_id)
    WHERE ref_call_id IS NOT NULL;
CREATE INDEX ingested_events_certificate_idx ON ingested_events (certificate_id)
    WHERE certificate_id IS NOT NULL;
CREATE INDEX ingested_events_retracted_move_idx ON ingested_events (port, retracted_move)
    WHERE retracted_move IS NOT NULL;

-- The keys no column takes (chiefly the ref_container:<port>/<container> of each container a
-- customs declaration lists), partitioned like their events so that a month goes at once.
CREATE TABLE event_other_keys (
    key          text NOT NULL,
    event_id     uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (key, event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- The monthly partitions (UTC months) of both tables for the given moments, created if missing:
-- hub.db.events.record_events calls it for the months of each batch before storing it, so no
-- DEFAULT partition is needed (one holding rows of a month would stop that month's partition
-- from being created). Returns how many months it created.
CREATE FUNCTION ensure_event_partitions(moments timestamptz[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month timestamp;
    suffix text;
    created integer := 0;
BEGIN
    FOR month IN
        SELECT DISTINCT date_trunc('month', moment AT TIME ZONE 'UTC') FROM unnest(moments) moment
    LOOP
        suffix := to_char(month, 'YYYY_MM');
        IF to_regclass('ingested_events_' || suffix) IS NULL
           OR to_regclass('event_other_keys_' || suffix) IS NULL THEN
            -- Two workers meeting a new month together: one creates it, the other waits.
            PERFORM pg_advisory_xact_lock(hashtext('ensure_event_partitions'));
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF ingested_events FOR VALUES FROM (%L) TO (%L)',
                'ingested_events_' || suffix, month AT TIME ZONE 'UTC',
                (month + interval '1 month') AT TIME ZONE 'UTC');
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF event_other_keys FOR VALUES FROM (%L) TO (%L)',
                'event_other_keys_' || suffix, month AT TIME ZONE 'UTC',
                (month + interval '1 month') AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

SELECT ensure_event_partitions(
    ARRAY(SELECT DISTINCT date_trunc('month', occurred_at) FROM ingested_events_before_0016)
);

-- Each old key, parsed as hub.domain.keys parses it, and the column it goes to (as in
-- hub.db.event_keys.columns_of, the first of two keys of one kind taking the column: here the
-- least; the other goes to event_other_keys).
CREATE TEMPORARY TABLE keys_0016 ON COMMIT DROP AS
WITH parsed AS (
    SELECT k.key, k.event_id, e.occurred_at, rtrim(e.port) AS event_port,
           CASE WHEN k.key LIKE 'certificate:_%' THEN 'certificate' ELSE
               substring(split_part(k.key, '/', 1) FROM '^(.*):[^:]*$') END AS kind,
           CASE WHEN k.key LIKE 'certificate:_%' THEN NULL ELSE
               substring(split_part(k.key, '/', 1) FROM ':([^:]*)$') END AS port,
           CASE WHEN k.key LIKE 'certificate:_%' THEN substr(k.key, length('certificate:') + 1)
                WHEN position('/' IN k.key) > 0
                THEN substr(k.key, length(split_part(k.key, '/', 1)) + 2) END AS entity
    FROM event_entity_keys k JOIN ingested_events_before_0016 e USING (event_id)
), placed AS (
    SELECT key, event_id, occurred_at, entity,
           CASE WHEN kind = 'certificate' THEN 'certificate_id'
                WHEN entity IS NULL OR entity = '' OR port IS NULL OR port = ''
                     OR port <> event_port THEN NULL
                WHEN kind = 'port_call' THEN 'port_call_id'
                WHEN kind = 'container' THEN 'container'
                WHEN kind = 'truck_visit' THEN 'truck_visit_id'
                WHEN kind = 'declaration' THEN 'declaration_id'
                WHEN kind = 'ref_call' THEN 'ref_call_id'
                WHEN kind = 'move' AND entity = event_id::text THEN 'own_move'
                WHEN kind = 'move'
                     AND entity ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN 'retracted_move'
           END AS column_name
    FROM parsed
)
SELECT key, event_id, occurred_at, entity, column_name,
       column_name IS NOT NULL
       AND row_number() OVER (PARTITION BY event_id, column_name ORDER BY entity) = 1 AS in_column
FROM placed;

INSERT INTO ingested_events
    (event_id, occurred_at, ingested_at, retracted_move, own_move, port, domain, event_type,
     port_call_id, container, truck_visit_id, declaration_id, ref_call_id, certificate_id,
     origin, payload)
SELECT e.event_id, e.occurred_at, e.ingested_at, c.retracted_move, coalesce(c.own_move, false),
       e.port, e.domain, e.event_type, c.port_call_id, c.container, c.truck_visit_id,
       c.declaration_id, c.ref_call_id, c.certificate_id, e.origin, e.payload
FROM ingested_events_before_0016 e
LEFT JOIN (
    SELECT event_id,
           max(entity) FILTER (WHERE column_name = 'retracted_move')::uuid AS retracted_move,
           bool_or(column_name = 'own_move') AS own_move,
           max(entity) FILTER (WHERE column_name = 'port_call_id') AS port_call_id,
           max(entity) FILTER (WHERE column_name = 'container') AS container,
           max(entity) FILTER (WHERE column_name = 'truck_visit_id') AS truck_visit_id,
           max(entity) FILTER (WHERE column_name = 'declaration_id') AS declaration_id,
           max(entity) FILTER (WHERE column_name = 'ref_call_id') AS ref_call_id,
           max(entity) FILTER (WHERE column_name = 'certificate_id') AS certificate_id
    FROM keys_0016 WHERE in_column GROUP BY event_id
) c USING (event_id);

INSERT INTO event_other_keys (key, event_id, occurred_at)
SELECT key, event_id, occurred_at FROM keys_0016 WHERE NOT in_column;

DROP TABLE event_entity_keys;
DROP TABLE ingested_events_before_0016;
