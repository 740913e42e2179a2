-- Indicators by quarter, half-year and year besides day and month (issue 21), and where the
-- indicator stage's job for those longer periods got to (it runs apart from the days' and
-- months', at most every HUB_INDICATORS_LONG_INTERVAL_S). No row: not yet run, the first run
-- computes every period with a change.
ALTER TABLE indicators DROP CONSTRAINT indicators_period_check;
ALTER TABLE indicators ADD CONSTRAINT indicators_period_check
    CHECK (period IN ('day', 'month', 'quarter', 'half-year', 'year'));

CREATE TABLE indicator_long_progress (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    since  timestamptz NOT NULL
);
