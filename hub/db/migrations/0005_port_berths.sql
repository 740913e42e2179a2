-- Container berths per port (the ports file's optional "berths" column): what berth occupancy
-- is measured against. NULL: not configured, so the port has no berth occupancy.
ALTER TABLE ports ADD COLUMN berths integer CHECK (berths >= 1);
