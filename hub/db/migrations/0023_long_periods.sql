-- Indicators by quarter, half-year and year besides day and month (issue 21), and where the
-- indicator job got to for those longer periods (recomputed at most every
-- HUB_INDICATORS_LONG_INTERVAL_S). NULL: not yet run, the next run starts from the beginning.
ALTER TABLE indicators DROP CONSTRAINT indicators_period_check;
ALTER TABLE indicators ADD CONSTRAINT indicators_period_check
    CHECK (period IN ('day', 'month', 'quarter', 'half-year', 'year'));
ALTER TABLE indicator_progress ADD COLUMN long_since timestamptz;
