-- The KPI stage keeps each entity's state in the memory of the worker that owns its port
-- (issue 18): a batch's KPIs and windows are written before its offsets are committed, so the
-- marks of what to recompute are gone. The windows are kept in memory too and written as rows;
-- the stored entity KPIs they are rebuilt from after a restart are read per window.
DROP TABLE kpi_dirty;
DROP SEQUENCE kpi_dirty_seq;
