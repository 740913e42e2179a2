-- Repeated refusals are counted, not itemised (issue 16: a flood of refused requests wrote one
-- row each). A refusal (an outcome "4xx …") that repeats one of the same clock minute (same
-- actor, action, target, outcome and client address) adds one to that row's `repeats` and sets
-- its `last_at`; past 100 distinct refusals of one action from one address in a minute (a new
-- made-up token on every request), the rest of that minute is counted on one row whose actor and
-- target are '*'. Everything else (allowed reads, admin actions, commands) stays one row each.
ALTER TABLE audit_log ADD COLUMN repeats integer NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at timestamptz;
