-- A country's single window (VUCE) as a publisher (issue 19): access tokens of scope
-- 'customs-publish' (`hub tokens add-single-window PE`, subject = ISO country) publish the
-- customs events and certificate submissions of that country's ports, and Kafka principals of
-- kind 'single-window' (`hub tenants add-single-window PE`) write customs.<ISO2>.customs and
-- customs.<ISO2>.certificate.
--
-- Each check is widened by one value, keeping whatever values it allows now: another migration
-- of the same release may widen the same check, and neither must undo the other.
DO $$
DECLARE
    target record;
    allowed text[];
BEGIN
    FOR target IN
        SELECT * FROM (VALUES
            ('access_tokens', 'access_tokens_scope_check', 'scope', 'customs-publish'),
            ('kafka_tenants', 'kafka_tenants_kind_check', 'kind', 'single-window')
        ) AS t (table_name, constraint_name, column_name, added)
    LOOP
        SELECT array_agg(DISTINCT quoted[1]) INTO allowed
        FROM pg_constraint c,
             regexp_matches(pg_get_constraintdef(c.oid), '''([^'']*)''', 'g') AS quoted
        WHERE c.conname = target.constraint_name
          AND c.conrelid = target.table_name::regclass;
        allowed := array_append(array_remove(allowed, target.added), target.added);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', target.table_name,
                       target.constraint_name);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I = ANY (%L::text[]))',
                       target.table_name, target.constraint_name, target.column_name, allowed);
    END LOOP;
END
$$;
