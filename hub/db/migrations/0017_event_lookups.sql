-- The keys of an event kept in event_other_keys, found by the event (the KPI stage reads the
-- keys of the events that refer to a changed call or container): without this index each
-- lookup read the whole table.
CREATE INDEX event_other_keys_event_idx ON event_other_keys (event_id, occurred_at);
