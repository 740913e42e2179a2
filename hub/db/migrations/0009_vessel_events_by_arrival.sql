-- The AIS connector learns the port calls from the vessel events the hub has taken in, reading
-- those ingested since its last look. Vessel events are about 1 % of all events: a partial index
-- costs the intake almost nothing and spares a scan of every event at each look.
CREATE INDEX ingested_vessel_events_idx ON ingested_events (ingested_at) WHERE domain = 'vessel';
