-- Tokens that read the KPIs and the regional indicators (scope 'kpis', `hub tokens add-reader`):
-- the dashboard and reporting tools. Like the other access tokens they have no subject, only a
-- SHA-256 is kept, and they may expire.
ALTER TABLE access_tokens DROP CONSTRAINT access_tokens_scope_check;
ALTER TABLE access_tokens ADD CONSTRAINT access_tokens_scope_check
    CHECK (scope IN ('customs', 'admin', 'kpis'));
