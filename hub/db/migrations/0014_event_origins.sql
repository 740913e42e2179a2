-- Duplicates are counted once per distinct publication, not per read (issue 16, item 9). The
-- origin of a record is where it was first published: the ingest record's topic/partition/offset,
-- or the port topic's record the gateway forwarded (header hub-origin). A record the hub reads
-- again (a worker restart, a rebalance, a gateway retry) has the same origin: a re-delivery, not a
-- duplicate publication.
ALTER TABLE ingested_events ADD COLUMN origin text;
-- The origins of the later publications of an event (the first one is ingested_events.origin).
CREATE TABLE duplicate_origins (
    event_id  uuid NOT NULL,
    origin    text NOT NULL,
    PRIMARY KEY (event_id, origin)
);
ALTER TABLE port_event_counts ADD COLUMN redeliveries bigint NOT NULL DEFAULT 0;
