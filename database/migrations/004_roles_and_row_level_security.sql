-- Roles, privileges and row-level security for Supabase's REST API (PostgREST).
--
-- Supabase answers REST requests as one of three roles, chosen by the API key:
--   anon           the public ("anon", "publishable") key, which ships inside apps;
--   authenticated  a signed-in end user of the project;
--   service_role   the secret key, for backends and the dashboard (bypasses RLS).
-- Supabase's default privileges grant every table in `public` to all three, so with
-- row-level security off the public key can read every customer's banking question.
--
-- After this migration:
--   * the public key (and signed-in users) hold no privilege on any table: they cannot
--     read, insert, update or delete a single row, and RLS is on as a second wall;
--   * they may call exactly two functions, both SECURITY DEFINER with a pinned, empty
--     search_path and schema-qualified names: log_interactions (validated, atomic,
--     idempotent inserts) and interaction_metrics (aggregates only, never rows);
--   * service_role keeps every table privilege, bypasses RLS and may execute every
--     function, upsert_knowledge_documents included.
--
-- The spec's tables, columns, indexes and constraints are not changed. On Supabase the
-- roles already exist and their creation is skipped. Idempotent: it may be pasted into
-- the SQL editor any number of times, and after 003 has been pasted again.

-- 1. The roles, created only where they are missing (plain PostgreSQL, tests).
DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('anon', false), ('authenticated', false), ('service_role', true))
                 AS wanted(name, bypass_rls)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            BEGIN
                EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN NOINHERIT%s', r.name,
                    CASE WHEN r.bypass_rls THEN ' BYPASSRLS' ELSE '' END);
            EXCEPTION
                -- Another database of the same cluster created it at the same moment.
                WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- 2. Row-level security on the spec's tables. No policy is created for anon or
-- authenticated, so even a privilege granted by mistake later shows them no row; the
-- table owner (who runs the SECURITY DEFINER functions) and service_role bypass it.
ALTER TABLE public.interactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.escalations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.knowledge_documents ENABLE ROW LEVEL SECURITY;

-- 3. Table privileges: none for the public key and signed-in users, all for the secret key.
REVOKE ALL ON TABLE public.interactions, public.escalations, public.knowledge_documents
    FROM PUBLIC, anon, authenticated;
GRANT ALL ON TABLE public.interactions, public.escalations, public.knowledge_documents
    TO service_role;

-- Supabase grants every new table, sequence and function in `public` to anon and
-- authenticated by default privileges; stop that for objects this role creates later,
-- so a future table is not exposed before someone decides it should be.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM anon, authenticated;

-- 4. Functions. First nobody may execute them (PostgreSQL grants EXECUTE to PUBLIC, and
-- Supabase to anon and authenticated, on every new function) ...
REVOKE EXECUTE ON FUNCTION
    public.log_interactions(jsonb, jsonb),
    public.interaction_metrics(text, timestamptz, timestamptz, text, text, text),
    public.upsert_knowledge_documents(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;

-- ... the two the public key may call run with their owner's rights (their search_path
-- is already pinned to '' and every name in them is qualified) ...
ALTER FUNCTION public.log_interactions(jsonb, jsonb) SECURITY DEFINER;
ALTER FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text)
    SECURITY DEFINER;

-- ... and each role gets exactly what it needs.
GRANT EXECUTE ON FUNCTION
    public.log_interactions(jsonb, jsonb),
    public.interaction_metrics(text, timestamptz, timestamptz, text, text, text)
    TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.upsert_knowledge_documents(jsonb) TO service_role;
