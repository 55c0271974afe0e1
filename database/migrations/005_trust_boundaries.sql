-- The trust boundary: what the public key may do, and the model's rules inside PostgreSQL.
--
-- Writers enforce the model; readers tolerate the schema. After this migration:
--
--   * the model's value rules live in SQL once, in schema assistant_db (which the REST
--     API does not expose): assistant_db.interaction_problems(row),
--     assistant_db.escalation_problems(row), assistant_db.knowledge_document_problems(row)
--     and assistant_db.citations_problem(jsonb). Each returns the rules a row breaks as
--     (field, rule, got). The validating write function and the data-quality report both
--     use them, so a value the writer refuses is a value the report counts;
--   * public.log_interactions(jsonb, jsonb) validates every row before it writes
--     anything: JSON-level rules (an object, no unknown key, each value of the JSON type
--     the Rust model accepts, a string "NaN" is not a number) and then the value rules.
--     A refusal raises SQLSTATE 22023 naming the row (table and 0-based index), the
--     field (as a JSON path) and the rule, with the same as a JSON object in DETAIL, and
--     writes nothing. Callers that could not insert into the tables themselves (the
--     public key) may also send at most 1,000 rows and 1 MiB of JSON per call, and may
--     escalate only interactions of the same call or logged in the last hour;
--   * public.interaction_metrics(...) leaves values outside the model's rules out of the
--     aggregates they would corrupt, and counts them under "excluded"; it adds the
--     confidence histogram. For the public key it answers only when the owner has turned
--     public metrics on (assistant_db.set_public_metrics), only for whole-hour windows,
--     and suppresses every group of fewer than 10 rows;
--   * public.data_quality_report() counts the stored rows that break each rule
--     (service_role only);
--   * _sqlx_migrations and every other table or view beyond the spec are closed to anon
--     and authenticated; EXECUTE is revoked from PUBLIC on every function of ours; every
--     one pins search_path to pg_catalog, pg_temp and names every table and function of
--     ours with its schema.
--
-- The spec's tables, columns, indexes and constraints are not changed. Idempotent: it
-- may be pasted into the SQL editor any number of times, and pasted again after an
-- earlier migration (002, 003, 004) was pasted again, which would undo parts of it.
--
-- Limits, mirrored by the Rust model (crates/assistant-db/src/model/limits.rs):
--   free text (TEXT columns)            32,768 characters, so that one row of the
--                                       model always fits the 1 MiB of one call
--   citations                           100 entries, 65,536 bytes of JSON
--   knowledge_documents.metadata        65,536 bytes of JSON
--   one call of the public key          1,000 rows, 1,048,576 bytes of JSON
-- JSON is measured as PostgreSQL prints it: octet_length(value::text).

-- 1. A schema for what is not API. -------------------------------------------------------

CREATE SCHEMA IF NOT EXISTS assistant_db;
COMMENT ON SCHEMA assistant_db IS
    'assistant-db internals: the model''s rules, settings. Not exposed by the REST API.';
REVOKE ALL ON SCHEMA assistant_db FROM PUBLIC, anon, authenticated, service_role;

CREATE TABLE IF NOT EXISTS assistant_db.settings (
    name text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE assistant_db.settings IS
    'Switches of assistant-db, changed through functions such as assistant_db.set_public_metrics(boolean).';
INSERT INTO assistant_db.settings (name, value)
VALUES ('public_metrics', 'false'::jsonb)
ON CONFLICT (name) DO NOTHING;

-- 2. Who is calling. ---------------------------------------------------------------------

-- Inside a SECURITY DEFINER function current_user is the owner; the caller is the role
-- PostgREST switched to (SET ROLE, which the `role` setting shows), else the login role.
CREATE OR REPLACE FUNCTION assistant_db.calling_role()
RETURNS name
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE pg_catalog.current_setting('role')
               WHEN 'none' THEN session_user
               ELSE pg_catalog.current_setting('role')::name
           END
$$;

-- Restricted callers are those that could not write the rows themselves: the public key,
-- signed-in users, login roles that hold only EXECUTE on the API.
CREATE OR REPLACE FUNCTION assistant_db.caller_may_write()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.has_table_privilege(assistant_db.calling_role(), 'public.interactions', 'INSERT')
       AND pg_catalog.has_table_privilege(assistant_db.calling_role(), 'public.escalations', 'INSERT')
$$;

CREATE OR REPLACE FUNCTION assistant_db.caller_may_read()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.has_table_privilege(assistant_db.calling_role(), 'public.interactions', 'SELECT')
       AND pg_catalog.has_table_privilege(assistant_db.calling_role(), 'public.escalations', 'SELECT')
$$;

-- 3. The public-metrics setting. ----------------------------------------------------------

CREATE OR REPLACE FUNCTION assistant_db.public_metrics_enabled()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.value = 'true'::jsonb
                     FROM assistant_db.settings AS s
                     WHERE s.name = 'public_metrics'), false)
$$;

CREATE OR REPLACE FUNCTION assistant_db.set_public_metrics(p_enabled boolean)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_enabled IS NULL THEN
        RAISE EXCEPTION 'set_public_metrics: p_enabled must be true or false'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO assistant_db.settings AS s (name, value, updated_at)
    VALUES ('public_metrics', pg_catalog.to_jsonb(p_enabled), pg_catalog.now())
    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at;
    RETURN p_enabled;
END;
$$;
COMMENT ON FUNCTION assistant_db.set_public_metrics(boolean) IS
    'Lets the public key (anon) and signed-in users read interaction_metrics (true) or not (false, the default). '
    'Then: whole-hour windows only, every group of fewer than 10 rows suppressed.';

-- 4. The model's value rules, once. -------------------------------------------------------

-- A refusal: SQLSTATE 22023, the message `table[index].field: rule (got …)`, and the same
-- as a JSON object in DETAIL for clients to map onto their validation error.
CREATE OR REPLACE FUNCTION assistant_db.refuse(
    p_table text, p_index bigint, p_field text, p_rule text, p_got text
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rule text := p_rule || coalesce(' (got ' || p_got || ')', '');
    v_where text := coalesce(p_table || '[' || p_index || ']', '')
        || CASE WHEN p_field = '' THEN '' WHEN p_table IS NULL THEN p_field ELSE '.' || p_field END;
BEGIN
    RAISE EXCEPTION '%: %', v_where, v_rule
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = pg_catalog.jsonb_build_object(
                  'table', p_table, 'index', p_index, 'field', p_field, 'rule', v_rule)::text;
END;
$$;

-- The characters Rust's str::trim() removes (Unicode White_Space): a required text made
-- only of these is blank. PostgreSQL text cannot hold NUL, so no rule tests for it.
CREATE OR REPLACE FUNCTION assistant_db.white_space()
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT E' \t\n\u000b\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
           || E'\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'
$$;

-- The first rule one `citations` value breaks, as ARRAY[field, rule, got], or NULL: it
-- must be null or an array of objects {number, source, url?}, at most 100 of them in at
-- most 65,536 bytes of JSON. The entries are checked before the list's limits, in the
-- order the Rust model reads them, so both name the same problem. An array rather than
-- a set, so that callers evaluate it as a plain expression, once per row.
CREATE OR REPLACE FUNCTION assistant_db.citations_problem(p_citations jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_blank constant text := assistant_db.white_space();
    v_keys constant text[] := ARRAY['number', 'source', 'url'];
    v_count integer;
    v_size integer;
    v_item jsonb;
    v_at text;
    v_value jsonb;
    v_text text;
BEGIN
    IF p_citations IS NULL OR pg_catalog.jsonb_typeof(p_citations) = 'null' THEN
        RETURN NULL;
    END IF;
    IF pg_catalog.jsonb_typeof(p_citations) <> 'array' THEN
        RETURN ARRAY['citations', 'must be an array of citation objects', pg_catalog.jsonb_typeof(p_citations)];
    END IF;
    v_count := pg_catalog.jsonb_array_length(p_citations);
    FOR i IN 0 .. v_count - 1 LOOP
        v_item := p_citations -> i;
        v_at := 'citations[' || i || ']';
        IF pg_catalog.jsonb_typeof(v_item) <> 'object' THEN
            RETURN ARRAY[v_at, 'must be a JSON object', pg_catalog.jsonb_typeof(v_item)];
        END IF;
        IF v_item - v_keys <> '{}'::jsonb THEN
            RETURN ARRAY[v_at || '.' || (
                SELECT k FROM pg_catalog.jsonb_object_keys(v_item - v_keys) AS k
                ORDER BY k COLLATE "C" LIMIT 1), 'is not a known field', NULL];
        END IF;
        v_value := v_item -> 'number';
        IF v_value IS NULL OR v_value = 'null'::jsonb THEN
            RETURN ARRAY[v_at || '.number', 'is required', NULL];
        END IF;
        v_text := v_value::text;
        IF pg_catalog.jsonb_typeof(v_value) <> 'number'
           OR v_text !~ '^[0-9]{1,10}$'
           OR v_text::bigint > 4294967295 THEN
            RETURN ARRAY[v_at || '.number', 'must be a whole number from 1 to 4294967295',
                         pg_catalog.left(v_text, 40)];
        END IF;
        IF v_text = '0' THEN
            RETURN ARRAY[v_at || '.number', 'must be at least 1', v_text];
        END IF;
        v_value := v_item -> 'source';
        IF v_value IS NULL OR v_value = 'null'::jsonb THEN
            RETURN ARRAY[v_at || '.source', 'is required', NULL];
        END IF;
        IF pg_catalog.jsonb_typeof(v_value) <> 'string' THEN
            RETURN ARRAY[v_at || '.source', 'must be a string', pg_catalog.left(v_value::text, 40)];
        END IF;
        v_text := v_value #>> '{}';
        IF pg_catalog.char_length(v_text) > 32768 THEN
            RETURN ARRAY[v_at || '.source', 'must be at most 32768 characters',
                         pg_catalog.char_length(v_text)::text];
        END IF;
        IF pg_catalog.btrim(v_text, v_blank) = '' THEN
            RETURN ARRAY[v_at || '.source', 'must not be empty or whitespace-only', NULL];
        END IF;
        v_value := v_item -> 'url';
        IF v_value IS NOT NULL AND v_value <> 'null'::jsonb THEN
            IF pg_catalog.jsonb_typeof(v_value) <> 'string' THEN
                RETURN ARRAY[v_at || '.url', 'must be a string', pg_catalog.left(v_value::text, 40)];
            END IF;
            IF pg_catalog.char_length(v_value #>> '{}') > 32768 THEN
                RETURN ARRAY[v_at || '.url', 'must be at most 32768 characters',
                             pg_catalog.char_length(v_value #>> '{}')::text];
            END IF;
        END IF;
    END LOOP;
    IF v_count > 100 THEN
        RETURN ARRAY['citations', 'must hold at most 100 citations', v_count::text];
    END IF;
    v_size := pg_catalog.octet_length(p_citations::text);
    IF v_size > 65536 THEN
        RETURN ARRAY['citations', 'must be at most 65536 bytes of JSON', v_size::text];
    END IF;
    RETURN NULL;
END;
$$;

-- The rules of an interactions row, in column order. A text must not be blank when
-- required and must fit its VARCHAR length, or 32,768 characters for TEXT. `timestamp`
-- must be set: the model always carries one (a missing one becomes now() when written),
-- so a stored NULL is another writer's row. Timestamps must be finite and at most
-- 5 minutes ahead of the database's clock. `p_writing`: the row is about to be written,
-- so a NULL timestamp stands for now().
CREATE OR REPLACE FUNCTION assistant_db.interaction_problems(
    r public.interactions, p_writing boolean DEFAULT false
)
RETURNS TABLE (field text, rule text, got text)
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_blank constant text := assistant_db.white_space();
    v_horizon constant timestamptz := pg_catalog.now() + interval '5 minutes';
    -- The text columns in order, with their length limit and whether they are required.
    v_names constant text[] := ARRAY['session_id', 'user_query', 'intent_name',
        'classification_reason', 'step_2_routing_decision', 'escalation_reason',
        'response_text'];
    v_max constant integer[] := ARRAY[255, 32768, 100, 32768, 50, 32768, 32768];
    v_required constant boolean[] := ARRAY[false, true, false, false, false, false, false];
    v_values text[] := ARRAY[r.session_id, r.user_query, r.intent_name,
        r.classification_reason, r.step_2_routing_decision, r.escalation_reason,
        r.response_text];
    v_length integer;
    v_citation text[];
BEGIN
    IF r."timestamp" IS NULL THEN
        IF NOT p_writing THEN
            field := 'timestamp'; rule := 'must be set'; got := NULL; RETURN NEXT;
        END IF;
    ELSIF NOT pg_catalog.isfinite(r."timestamp") THEN
        field := 'timestamp'; rule := 'must be a finite timestamp'; got := r."timestamp"::text; RETURN NEXT;
    ELSIF r."timestamp" > v_horizon THEN
        field := 'timestamp'; rule := 'must be at most 5 minutes in the future';
        got := r."timestamp"::text; RETURN NEXT;
    END IF;
    IF r.assistant_mode IS NULL OR r.assistant_mode NOT IN ('customer', 'banker') THEN
        field := 'assistant_mode'; rule := 'must be one of ''customer'', ''banker''';
        got := pg_catalog.to_json(r.assistant_mode)::text; RETURN NEXT;
    END IF;
    IF r.intent_category NOT IN ('automatable', 'sensitive', 'human_only') THEN
        field := 'intent_category'; rule := 'must be one of ''automatable'', ''sensitive'', ''human_only''';
        got := pg_catalog.to_json(r.intent_category)::text; RETURN NEXT;
    END IF;
    IF r.outcome IS NULL OR r.outcome NOT IN ('resolved', 'escalated') THEN
        field := 'outcome'; rule := 'must be one of ''resolved'', ''escalated''';
        got := pg_catalog.to_json(r.outcome)::text; RETURN NEXT;
    END IF;
    FOR i IN 1 .. 7 LOOP
        IF v_values[i] IS NULL THEN
            IF v_required[i] THEN
                field := v_names[i]; rule := 'is required'; got := NULL; RETURN NEXT;
            END IF;
            CONTINUE;
        END IF;
        v_length := pg_catalog.char_length(v_values[i]);
        IF v_length > v_max[i] THEN
            field := v_names[i]; rule := 'must be at most ' || v_max[i] || ' characters';
            got := v_length; RETURN NEXT;
        ELSIF v_required[i] AND pg_catalog.btrim(v_values[i], v_blank) = '' THEN
            field := v_names[i]; rule := 'must not be empty or whitespace-only'; got := NULL;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF r.step_5_confidence_score IS NOT NULL
       AND NOT (r.step_5_confidence_score >= 0 AND r.step_5_confidence_score <= 1) THEN
        field := 'step_5_confidence_score';
        rule := CASE WHEN r.step_5_confidence_score IN ('NaN', 'Infinity', '-Infinity')
                     THEN 'must be a finite number' ELSE 'must be between 0 and 1' END;
        got := r.step_5_confidence_score::text; RETURN NEXT;
    END IF;
    IF r.confidence_score IS NOT NULL
       AND NOT (r.confidence_score >= 0 AND r.confidence_score <= 1) THEN
        field := 'confidence_score';
        rule := CASE WHEN r.confidence_score IN ('NaN', 'Infinity', '-Infinity')
                     THEN 'must be a finite number' ELSE 'must be between 0 and 1' END;
        got := r.confidence_score::text; RETURN NEXT;
    END IF;
    v_citation := assistant_db.citations_problem(r.citations);
    IF v_citation IS NOT NULL THEN
        field := v_citation[1]; rule := v_citation[2]; got := v_citation[3]; RETURN NEXT;
    END IF;
    IF r.retrieved_chunks_count < 0 THEN
        field := 'retrieved_chunks_count'; rule := 'must be at least 0';
        got := r.retrieved_chunks_count; RETURN NEXT;
    END IF;
    IF r.processing_time_ms < 0 THEN
        field := 'processing_time_ms'; rule := 'must be at least 0';
        got := r.processing_time_ms; RETURN NEXT;
    END IF;
    IF NOT pg_catalog.isfinite(r.created_at) THEN
        field := 'created_at'; rule := 'must be a finite timestamp'; got := r.created_at::text; RETURN NEXT;
    ELSIF r.created_at > v_horizon THEN
        field := 'created_at'; rule := 'must be at most 5 minutes in the future';
        got := r.created_at::text; RETURN NEXT;
    END IF;
END;
$$;

-- The rules of an escalations row. A NULL interaction_id is allowed by the model (and
-- refused only to restricted callers, by log_interactions); the report lists such rows.
CREATE OR REPLACE FUNCTION assistant_db.escalation_problems(r public.escalations)
RETURNS TABLE (field text, rule text, got text)
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_blank constant text := assistant_db.white_space();
BEGIN
    IF r.trigger_type IS NULL THEN
        field := 'trigger_type'; rule := 'is required'; got := NULL; RETURN NEXT;
    ELSIF pg_catalog.char_length(r.trigger_type) > 50 THEN
        field := 'trigger_type'; rule := 'must be at most 50 characters';
        got := pg_catalog.char_length(r.trigger_type); RETURN NEXT;
    ELSIF pg_catalog.btrim(r.trigger_type, v_blank) = '' THEN
        field := 'trigger_type'; rule := 'must not be empty or whitespace-only'; got := NULL; RETURN NEXT;
    END IF;
    IF r.escalation_reason IS NULL THEN
        field := 'escalation_reason'; rule := 'is required'; got := NULL; RETURN NEXT;
    ELSIF pg_catalog.char_length(r.escalation_reason) > 32768 THEN
        field := 'escalation_reason'; rule := 'must be at most 32768 characters';
        got := pg_catalog.char_length(r.escalation_reason); RETURN NEXT;
    ELSIF pg_catalog.btrim(r.escalation_reason, v_blank) = '' THEN
        field := 'escalation_reason'; rule := 'must not be empty or whitespace-only'; got := NULL; RETURN NEXT;
    END IF;
    IF NOT pg_catalog.isfinite(r.created_at) THEN
        field := 'created_at'; rule := 'must be a finite timestamp'; got := r.created_at::text; RETURN NEXT;
    ELSIF r.created_at > pg_catalog.now() + interval '5 minutes' THEN
        field := 'created_at'; rule := 'must be at most 5 minutes in the future';
        got := r.created_at::text; RETURN NEXT;
    END IF;
END;
$$;

-- The rules of a knowledge_documents row (for the report; documents are written by the
-- secret key only).
CREATE OR REPLACE FUNCTION assistant_db.knowledge_document_problems(r public.knowledge_documents)
RETURNS TABLE (field text, rule text, got text)
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_blank constant text := assistant_db.white_space();
    v_size integer;
BEGIN
    IF pg_catalog.btrim(r.openai_file_id, v_blank) = '' THEN
        field := 'openai_file_id'; rule := 'must not be empty or whitespace-only'; got := NULL; RETURN NEXT;
    END IF;
    IF r.title IS NULL THEN
        field := 'title'; rule := 'is required'; got := NULL; RETURN NEXT;
    ELSIF pg_catalog.char_length(r.title) > 32768 THEN
        field := 'title'; rule := 'must be at most 32768 characters';
        got := pg_catalog.char_length(r.title); RETURN NEXT;
    ELSIF pg_catalog.btrim(r.title, v_blank) = '' THEN
        field := 'title'; rule := 'must not be empty or whitespace-only'; got := NULL; RETURN NEXT;
    END IF;
    IF pg_catalog.char_length(r.source_url) > 32768 THEN
        field := 'source_url'; rule := 'must be at most 32768 characters';
        got := pg_catalog.char_length(r.source_url); RETURN NEXT;
    END IF;
    IF r.content_type NOT IN ('public', 'synthetic') THEN
        field := 'content_type'; rule := 'must be one of ''public'', ''synthetic''';
        got := pg_catalog.to_json(r.content_type)::text; RETURN NEXT;
    END IF;
    IF NOT pg_catalog.isfinite(r.ingested_at) THEN
        field := 'ingested_at'; rule := 'must be a finite timestamp'; got := r.ingested_at::text; RETURN NEXT;
    ELSIF r.ingested_at > pg_catalog.now() + interval '5 minutes' THEN
        field := 'ingested_at'; rule := 'must be at most 5 minutes in the future';
        got := r.ingested_at::text; RETURN NEXT;
    END IF;
    v_size := pg_catalog.octet_length(r.metadata::text);
    IF v_size > 65536 THEN
        field := 'metadata'; rule := 'must be at most 65536 bytes of JSON'; got := v_size; RETURN NEXT;
    END IF;
END;
$$;

-- 5. JSON-level rules of log_interactions' input. ----------------------------------------

-- Every key a row may carry, in column order, with the JSON type the Rust model reads it
-- as; `required` keys must be present and not null. A `string` longer than max_chars
-- could not be held by its VARCHAR column at all; `allowed` lists a CHECK's values.
-- `json` (citations) takes any JSON here: its rules are value rules.
CREATE OR REPLACE FUNCTION assistant_db.json_fields()
RETURNS TABLE (tbl text, pos integer, key text, kind text, required boolean,
               max_chars integer, allowed text[])
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES
        ('interactions',  1, 'id',                          'uuid',      false, NULL::integer, NULL::text[]),
        ('interactions',  2, 'timestamp',                   'timestamp', false, NULL, NULL),
        ('interactions',  3, 'assistant_mode',              'string',    true,  NULL, ARRAY['customer', 'banker']),
        ('interactions',  4, 'session_id',                  'string',    false, 255,  NULL),
        ('interactions',  5, 'user_query',                  'string',    true,  NULL, NULL),
        ('interactions',  6, 'intent_name',                 'string',    false, 100,  NULL),
        ('interactions',  7, 'intent_category',             'string',    false, NULL, ARRAY['automatable', 'sensitive', 'human_only']),
        ('interactions',  8, 'classification_reason',       'string',    false, NULL, NULL),
        ('interactions',  9, 'step_1_intent_completed',     'boolean',   false, NULL, NULL),
        ('interactions', 10, 'step_2_routing_decision',     'string',    false, 50,   NULL),
        ('interactions', 11, 'step_3_retrieval_performed',  'boolean',   false, NULL, NULL),
        ('interactions', 12, 'step_4_response_generated',   'boolean',   false, NULL, NULL),
        ('interactions', 13, 'step_5_confidence_score',     'number',    false, NULL, NULL),
        ('interactions', 14, 'step_6_escalation_triggered', 'boolean',   false, NULL, NULL),
        ('interactions', 15, 'outcome',                     'string',    true,  NULL, ARRAY['resolved', 'escalated']),
        ('interactions', 16, 'confidence_score',            'number',    false, NULL, NULL),
        ('interactions', 17, 'escalation_reason',           'string',    false, NULL, NULL),
        ('interactions', 18, 'response_text',               'string',    false, NULL, NULL),
        ('interactions', 19, 'citations',                   'json',      false, NULL, NULL),
        ('interactions', 20, 'retrieved_chunks_count',      'integer',   false, NULL, NULL),
        ('interactions', 21, 'processing_time_ms',          'integer',   false, NULL, NULL),
        ('interactions', 22, 'created_at',                  'timestamp', false, NULL, NULL),
        ('escalations',   1, 'id',                          'uuid',      false, NULL, NULL),
        ('escalations',   2, 'interaction_id',              'uuid',      false, NULL, NULL),
        ('escalations',   3, 'trigger_type',                'string',    true,  50,   NULL),
        ('escalations',   4, 'escalation_reason',           'string',    true,  NULL, NULL),
        ('escalations',   5, 'created_at',                  'timestamp', false, NULL, NULL)
$$;

-- The form of an RFC 3339 timestamp as chrono reads it (`T`, `t` or a space between date
-- and time; `Z`, `z` or ±hh:mm), with an offset PostgreSQL can hold (up to ±15:59).
-- Without arguments and IMMUTABLE, a query computes it once, when it is planned.
CREATE OR REPLACE FUNCTION assistant_db.rfc3339_pattern()
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:'
           || '([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-](0[0-9]|1[0-5]):[0-5][0-9])$'
$$;

-- An RFC 3339 timestamp of that form on a date that exists. 'infinity', 'now', 'epoch'
-- and PostgreSQL's other spellings are not.
CREATE OR REPLACE FUNCTION assistant_db.is_rfc3339(p_text text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN p_text ~ assistant_db.rfc3339_pattern()
        AND pg_catalog.left(p_text, 4) <> '0000'
        AND (pg_catalog.substr(p_text, 9, 2) <= '28'
             OR pg_catalog.substr(p_text, 9, 2)::integer <= pg_catalog.date_part('day',
                    pg_catalog.make_date(pg_catalog.left(p_text, 4)::integer,
                                         pg_catalog.substr(p_text, 6, 2)::integer, 1)
                    + interval '1 month - 1 day'));
END;
$$;

-- Whether any row of one array argument may break a JSON-level rule: a cheap test, built
-- from json_fields(), that every clean batch passes. It may say yes for a row that turns
-- out clean (then json_problems finds nothing); it never says no for a row that breaks a
-- type, presence or key rule. Values a column cannot hold at all (a malformed UUID, a
-- whole number out of range, an over-long VARCHAR) make building the row fail, and
-- log_interactions has json_problems explain that failure instead.
CREATE OR REPLACE FUNCTION assistant_db.json_suspect(p_table text, p_rows jsonb)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_path jsonpath;
    v_keys text[];
    v_times text[];
BEGIN
    -- One jsonpath over the whole array: a row that is not an object, a required key that
    -- is missing or null, a value of the wrong JSON type.
    SELECT ('$[*] ? (@.type() != "object" || '
            || pg_catalog.string_agg(pg_catalog.replace(pg_catalog.concat_ws(' || ',
                   CASE WHEN f.required THEN '!exists(@."K") || @."K" == null' END,
                   CASE f.kind
                       WHEN 'boolean' THEN '(@."K".type() != "boolean" && @."K".type() != "null")'
                       WHEN 'number' THEN '(@."K".type() != "number" && @."K".type() != "null")'
                       WHEN 'integer' THEN '(@."K".type() != "number" && @."K".type() != "null")'
                       WHEN 'json' THEN NULL
                       ELSE '(@."K".type() != "string" && @."K".type() != "null")'
                   END), '@."K"', '@."' || f.key || '"'), ' || ')
                   FILTER (WHERE f.kind <> 'json' OR f.required)
            || ')')::jsonpath,
           pg_catalog.array_agg(f.key),
           pg_catalog.array_agg(f.key) FILTER (WHERE f.kind = 'timestamp')
    INTO v_path, v_keys, v_times
    FROM assistant_db.json_fields() AS f
    WHERE f.tbl = p_table;

    RETURN pg_catalog.jsonb_path_exists(p_rows, v_path)
        -- A key that is not a column.
        OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(p_rows) AS e(row)
                   WHERE e.row - v_keys <> '{}'::jsonb)
        -- A timestamp PostgreSQL would read but RFC 3339 does not write ('infinity',
        -- 'now'); the days that not every month has take the exact test.
        OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(p_rows) AS e(row)
                   CROSS JOIN pg_catalog.unnest(v_times) AS k(key)
                   CROSS JOIN LATERAL (SELECT e.row ->> k.key AS text) AS v
                   WHERE v.text !~ assistant_db.rfc3339_pattern()
                      OR pg_catalog.left(v.text, 4) = '0000'
                      OR (pg_catalog.substr(v.text, 9, 2) > '28' AND NOT assistant_db.is_rfc3339(v.text)));
END;
$$;

-- The JSON-level problems of the rows of one array argument, in row and column order:
-- the slow, exact counterpart of json_suspect, run only when that said yes.
CREATE OR REPLACE FUNCTION assistant_db.json_problems(p_table text, p_rows jsonb)
RETURNS TABLE (idx bigint, field text, rule text, got text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH spec AS MATERIALIZED (
        SELECT f.* FROM assistant_db.json_fields() AS f WHERE f.tbl = p_table
    ),
    rows AS MATERIALIZED (
        SELECT e.ord - 1 AS idx, e.row, pg_catalog.jsonb_typeof(e.row) = 'object' AS is_object
        FROM pg_catalog.jsonb_array_elements(p_rows) WITH ORDINALITY AS e(row, ord)
    ),
    problems AS (
        SELECT r.idx, 0 AS pos, '' AS field, 'must be a JSON object' AS rule,
               pg_catalog.jsonb_typeof(r.row) AS got
        FROM rows AS r
        WHERE NOT r.is_object
        UNION ALL
        SELECT r.idx, s.pos, s.key, 'is required', NULL
        FROM rows AS r
        CROSS JOIN spec AS s
        WHERE r.is_object AND s.required
          AND coalesce(r.row -> s.key, 'null'::jsonb) = 'null'::jsonb
        UNION ALL
        SELECT r.idx, coalesce(s.pos, 1000), kv.key, c.rule,
               CASE WHEN s.key IS NULL THEN NULL
                    WHEN s.kind = 'string' AND s.allowed IS NULL AND v.type = 'string'
                        THEN pg_catalog.char_length(v.text)::text
                    ELSE pg_catalog.left(kv.value::text, 64) END
        FROM rows AS r
        CROSS JOIN LATERAL pg_catalog.jsonb_each(r.row) AS kv
        LEFT JOIN spec AS s ON s.key = kv.key
        CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_typeof(kv.value) AS type,
                                   kv.value #>> '{}' AS text) AS v
        CROSS JOIN LATERAL (
            SELECT CASE
                WHEN s.key IS NULL THEN 'is not a column of ' || p_table
                WHEN v.type = 'null' OR s.kind = 'json' THEN NULL
                WHEN s.kind = 'boolean' AND v.type <> 'boolean' THEN 'must be true or false'
                WHEN s.kind IN ('number', 'integer') AND v.type <> 'number' THEN 'must be a number'
                WHEN s.kind IN ('uuid', 'timestamp', 'string') AND v.type <> 'string' THEN 'must be a string'
                -- The forms PostgreSQL's uuid type reads: 32 hex digits, a hyphen allowed
                -- after any group of four, optionally in braces.
                WHEN s.kind = 'uuid'
                     AND v.text !~* '^(\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\}|[0-9a-f]{4}(-?[0-9a-f]{4}){7})$'
                    THEN 'must be a UUID'
                WHEN s.kind = 'timestamp' AND NOT assistant_db.is_rfc3339(v.text)
                    THEN 'must be an RFC 3339 timestamp such as 2024-05-01T12:30:00Z'
                WHEN s.allowed IS NOT NULL AND NOT (v.text = ANY (s.allowed))
                    THEN 'must be one of ' || (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(a), ', ')
                                               FROM pg_catalog.unnest(s.allowed) AS a)
                WHEN s.max_chars IS NOT NULL AND pg_catalog.char_length(v.text) > s.max_chars
                    THEN 'must be at most ' || s.max_chars || ' characters'
                WHEN s.kind = 'number' AND (pg_catalog.abs(v.text::numeric) > 1e300
                         OR (v.text::numeric <> 0 AND pg_catalog.abs(v.text::numeric) < 1e-300))
                    THEN 'must be a number a double-precision float can hold'
                WHEN s.kind = 'integer' AND v.text !~ '^-?[0-9]+$' THEN 'must be a whole number'
                WHEN s.kind = 'integer' AND v.text::numeric > 2147483647 THEN 'must be at most 2147483647'
                WHEN s.kind = 'integer' AND v.text::numeric < -2147483648 THEN 'must be at least 0'
            END AS rule
        ) AS c
        WHERE r.is_object AND c.rule IS NOT NULL
    )
    SELECT p.idx, p.field, p.rule, p.got
    FROM problems AS p
    ORDER BY p.idx, p.pos, p.field COLLATE "C"
$$;

-- The first JSON-level problem of a call, interactions first; none when both are clean.
CREATE OR REPLACE FUNCTION assistant_db.first_json_problem(p_interactions jsonb, p_escalations jsonb)
RETURNS TABLE (tbl text, idx bigint, field text, rule text, got text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT problems.tbl, problems.idx, problems.field, problems.rule, problems.got
    FROM (
        SELECT 1 AS t, 'interactions' AS tbl, p.*
        FROM assistant_db.json_problems('interactions', p_interactions)
             WITH ORDINALITY AS p(idx, field, rule, got, n)
        UNION ALL
        SELECT 2, 'escalations', p.*
        FROM assistant_db.json_problems('escalations', p_escalations)
             WITH ORDINALITY AS p(idx, field, rule, got, n)
    ) AS problems
    ORDER BY problems.t, problems.n
    LIMIT 1
$$;

-- 6. The validating write function. -------------------------------------------------------

CREATE OR REPLACE FUNCTION public.log_interactions(
    p_interactions jsonb,
    p_escalations jsonb DEFAULT '[]'::jsonb
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_restricted boolean;
    v_rows bigint;
    v_bytes bigint;
    v_problem record;
    n_interactions integer;
    n_escalations integer;
BEGIN
    IF pg_catalog.jsonb_typeof(p_interactions) IS DISTINCT FROM 'array'
       OR pg_catalog.jsonb_typeof(p_escalations) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'log_interactions expects two JSON arrays'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The limits of one call, for callers that could not write the rows themselves.
    v_restricted := NOT assistant_db.caller_may_write();
    IF v_restricted THEN
        v_rows := pg_catalog.jsonb_array_length(p_interactions)
            + pg_catalog.jsonb_array_length(p_escalations);
        IF v_rows > 1000 THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'log_interactions',
                'must hold at most 1000 rows per call with this key', v_rows::text);
        END IF;
        v_bytes := pg_catalog.octet_length(p_interactions::text)
            + pg_catalog.octet_length(p_escalations::text);
        IF v_bytes > 1048576 THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'log_interactions',
                'must hold at most 1048576 bytes of JSON per call with this key', v_bytes::text);
        END IF;
    END IF;

    -- JSON-level rules: the exact (slow) search runs only for a suspect batch.
    IF assistant_db.json_suspect('interactions', p_interactions)
       OR assistant_db.json_suspect('escalations', p_escalations) THEN
        SELECT * INTO v_problem FROM assistant_db.first_json_problem(p_interactions, p_escalations);
        IF FOUND THEN
            PERFORM assistant_db.refuse(v_problem.tbl, v_problem.idx, v_problem.field,
                                        v_problem.rule, v_problem.got);
        END IF;
    END IF;

    -- The value rules, on the rows as they would be stored (a missing timestamp is now()).
    BEGIN
        SELECT * INTO v_problem FROM (
            SELECT 1 AS t, 'interactions' AS tbl, e.ord - 1 AS idx, p.field, p.rule, p.got, p.n
            FROM pg_catalog.jsonb_array_elements(p_interactions) WITH ORDINALITY AS e(row, ord)
            CROSS JOIN LATERAL assistant_db.interaction_problems(
                pg_catalog.jsonb_populate_record(NULL::public.interactions, e.row), true)
                WITH ORDINALITY AS p(field, rule, got, n)
            UNION ALL
            SELECT 2, 'escalations', e.ord - 1, p.field, p.rule, p.got, p.n
            FROM pg_catalog.jsonb_array_elements(p_escalations) WITH ORDINALITY AS e(row, ord)
            CROSS JOIN LATERAL assistant_db.escalation_problems(
                pg_catalog.jsonb_populate_record(NULL::public.escalations, e.row))
                WITH ORDINALITY AS p(field, rule, got, n)
        ) AS problems
        ORDER BY problems.t, problems.idx, problems.n
        LIMIT 1;
    EXCEPTION
        -- A value its column cannot hold; json_problems names it.
        WHEN data_exception THEN
            SELECT * INTO v_problem FROM assistant_db.first_json_problem(p_interactions, p_escalations);
            IF NOT FOUND THEN
                RAISE;
            END IF;
    END;
    IF v_problem.field IS NOT NULL THEN
        PERFORM assistant_db.refuse(v_problem.tbl, v_problem.idx, v_problem.field,
                                    v_problem.rule, v_problem.got);
    END IF;

    -- A restricted caller may escalate only an interaction it is writing now, or one
    -- written in the last hour (the logger sends escalations of earlier entries in later
    -- batches); never an older one, so the public key cannot rewrite history. An id sent
    -- again that is already stored counts by its stored row, not as "written now".
    IF v_restricted THEN
        SELECT e.idx, e.interaction_id INTO v_problem
        FROM (
            SELECT x.ord - 1 AS idx, (x.row ->> 'interaction_id')::uuid AS interaction_id
            FROM pg_catalog.jsonb_array_elements(p_escalations) WITH ORDINALITY AS x(row, ord)
        ) AS e
        LEFT JOIN public.interactions AS i ON i.id = e.interaction_id
        WHERE e.interaction_id IS NULL
           OR (i.id IS NULL AND NOT EXISTS (
                   SELECT 1 FROM pg_catalog.jsonb_array_elements(p_interactions) AS n(row)
                   WHERE (n.row ->> 'id')::uuid = e.interaction_id))
           OR (i.id IS NOT NULL
               AND NOT coalesce(i.created_at >= pg_catalog.now() - interval '1 hour', false))
        ORDER BY e.idx
        LIMIT 1;
        IF FOUND THEN
            IF v_problem.interaction_id IS NULL THEN
                PERFORM assistant_db.refuse('escalations', v_problem.idx, 'interaction_id',
                    'is required with this key', NULL);
            END IF;
            PERFORM assistant_db.refuse('escalations', v_problem.idx, 'interaction_id',
                'must name an interaction logged in this call or in the last hour',
                v_problem.interaction_id::text);
        END IF;
    END IF;

    INSERT INTO public.interactions (
        id, "timestamp", assistant_mode, session_id, user_query, intent_name,
        intent_category, classification_reason, step_1_intent_completed,
        step_2_routing_decision, step_3_retrieval_performed, step_4_response_generated,
        step_5_confidence_score, step_6_escalation_triggered, outcome, confidence_score,
        escalation_reason, response_text, citations, retrieved_chunks_count,
        processing_time_ms, created_at)
    SELECT
        coalesce(r.id, pg_catalog.gen_random_uuid()), coalesce(r."timestamp", pg_catalog.now()),
        r.assistant_mode, r.session_id, r.user_query, r.intent_name, r.intent_category,
        r.classification_reason, coalesce(r.step_1_intent_completed, false),
        r.step_2_routing_decision, coalesce(r.step_3_retrieval_performed, false),
        coalesce(r.step_4_response_generated, false), r.step_5_confidence_score,
        coalesce(r.step_6_escalation_triggered, false), r.outcome, r.confidence_score,
        r.escalation_reason, r.response_text, r.citations, r.retrieved_chunks_count,
        r.processing_time_ms, coalesce(r.created_at, pg_catalog.now())
    FROM pg_catalog.jsonb_populate_recordset(NULL::public.interactions, p_interactions) AS r
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n_interactions = ROW_COUNT;

    INSERT INTO public.escalations (id, interaction_id, trigger_type, escalation_reason, created_at)
    SELECT coalesce(r.id, pg_catalog.gen_random_uuid()), r.interaction_id, r.trigger_type,
           r.escalation_reason, coalesce(r.created_at, pg_catalog.now())
    FROM pg_catalog.jsonb_populate_recordset(NULL::public.escalations, p_escalations) AS r
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n_escalations = ROW_COUNT;

    RETURN pg_catalog.jsonb_build_object('interactions', n_interactions, 'escalations', n_escalations);
END;
$$;

COMMENT ON FUNCTION public.log_interactions(jsonb, jsonb) IS
    'Validates, then inserts interactions and escalations from two JSON arrays, atomically; rows whose id exists are skipped. '
    'A refusal is SQLSTATE 22023 naming table[index].field and the rule (DETAIL: the same as JSON). '
    'Returns the counts inserted.';

-- 7. Metrics that no row can break, and that single out no one. ---------------------------
--
-- As in 002, the filtered rows are read once into a MATERIALIZED CTE and every aggregate
-- reads that. New here:
--   * a confidence outside [0, 1] (NaN and the infinities included) is left out of the
--     averages and the histogram, a negative processing time out of the mean and
--     percentiles, and a timestamp that is NULL, infinite or more than 5 minutes ahead
--     out of the timeseries; such rows still count in every total. "excluded" says how
--     many were left out of each;
--   * "confidence_histogram": interactions per tenth of a valid confidence, the top bin
--     including 1.0 (as width_bucket numbers them);
--   * callers that may not read the tables (the public key) get an answer only while
--     assistant_db.set_public_metrics(true) is in force, only for windows whose bounds
--     are whole hours, never for fewer than 10 interactions, and with every group of
--     fewer than 10 rows left out (lists) or null (histogram bins, averages and
--     percentiles over fewer than 10 values, "excluded" counts). "suppressed" counts
--     what was left out. A suppressed "sessions" reads 0 and 0.
--
-- How long one call may run is bounded by the calling role's statement_timeout, which
-- PostgREST applies on each request (section 9 sets one where none is set). A SET clause
-- on the function itself would not bound the statement that is already running.
CREATE OR REPLACE FUNCTION public.interaction_metrics(
    p_mode text DEFAULT NULL,
    p_from timestamptz DEFAULT NULL,
    p_to timestamptz DEFAULT NULL,
    p_intent text DEFAULT NULL,
    p_category text DEFAULT NULL,
    p_bucket text DEFAULT 'day'
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = 'force_custom_plan'
AS $function$
DECLARE
    v_result jsonb;
    -- The smallest group shown: every group for callers that may read the rows anyway.
    v_k integer := 0;
    v_horizon constant timestamptz := pg_catalog.now() + interval '5 minutes';
BEGIN
    IF p_bucket IS NULL OR p_bucket NOT IN ('hour', 'day', 'week') THEN
        RAISE EXCEPTION 'interaction_metrics: p_bucket must be one of ''hour'', ''day'', ''week'' (got %)',
            coalesce(pg_catalog.quote_literal(p_bucket), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Omit p_bucket for daily buckets.';
    END IF;

    IF NOT assistant_db.caller_may_read() THEN
        IF NOT assistant_db.public_metrics_enabled() THEN
            RAISE EXCEPTION 'interaction_metrics: metrics are off for this key; it may only log'
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'The database owner turns them on with SELECT assistant_db.set_public_metrics(true), '
                             'or `assistant-db public-metrics on`.';
        END IF;
        IF p_from IS NOT NULL
           AND (NOT pg_catalog.isfinite(p_from) OR pg_catalog.date_trunc('hour', p_from, 'UTC') <> p_from) THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'from',
                'must be a whole hour (UTC) with this key', p_from::text);
        END IF;
        IF p_to IS NOT NULL
           AND (NOT pg_catalog.isfinite(p_to) OR pg_catalog.date_trunc('hour', p_to, 'UTC') <> p_to) THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'to',
                'must be a whole hour (UTC) with this key', p_to::text);
        END IF;
        v_k := 10;
    END IF;

    WITH filtered AS MATERIALIZED (
        SELECT i.id,
               i.assistant_mode,
               i.session_id,
               i.intent_name,
               i.intent_category,
               i.outcome,
               CASE WHEN i.confidence_score >= 0 AND i.confidence_score <= 1
                    THEN i.confidence_score END AS confidence,
               i.confidence_score IS NOT NULL
                   AND NOT (i.confidence_score >= 0 AND i.confidence_score <= 1) AS bad_confidence,
               CASE WHEN i.processing_time_ms >= 0 THEN i.processing_time_ms END AS processing_time_ms,
               coalesce(i.processing_time_ms < 0, false) AS bad_time,
               i.step_1_intent_completed,
               i.step_2_routing_decision,
               i.step_3_retrieval_performed,
               i.step_4_response_generated,
               i.step_5_confidence_score,
               i.step_6_escalation_triggered,
               CASE WHEN pg_catalog.isfinite(i."timestamp") AND i."timestamp" <= v_horizon
                    THEN pg_catalog.date_trunc(p_bucket, i."timestamp", 'UTC') END AS bucket
        FROM public.interactions AS i
        WHERE (p_mode IS NULL OR i.assistant_mode = p_mode)
          AND (p_from IS NULL OR i."timestamp" >= p_from)
          AND (p_to IS NULL OR i."timestamp" <= p_to)
          AND (p_intent IS NULL OR i.intent_name = p_intent)
          AND (p_category IS NULL OR i.intent_category = p_category)
    ),
    binned AS (
        SELECT f.*,
               -- LEAST ignores NULL: without the CASE a missing confidence joins bin 10.
               CASE WHEN f.confidence IS NOT NULL
                    THEN LEAST(pg_catalog.width_bucket(f.confidence, 0, 1, 10), 10) END AS confidence_bin
        FROM filtered AS f
    ),
    totals AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE f.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE f.outcome = 'escalated') AS escalated,
               avg(f.confidence) AS avg_confidence,
               count(f.confidence) AS n_confidence,
               avg(f.processing_time_ms)::double precision AS pt_avg,
               count(f.processing_time_ms) AS n_time,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[])
                   WITHIN GROUP (ORDER BY f.processing_time_ms::double precision) AS pt,
               count(*) FILTER (WHERE f.step_1_intent_completed) AS step_1,
               count(f.step_2_routing_decision) AS step_2,
               count(*) FILTER (WHERE f.step_3_retrieval_performed) AS step_3,
               count(*) FILTER (WHERE f.step_4_response_generated) AS step_4,
               count(f.step_5_confidence_score) AS step_5,
               count(*) FILTER (WHERE f.step_6_escalation_triggered) AS step_6,
               count(*) FILTER (WHERE f.bad_confidence) AS bad_confidence,
               count(*) FILTER (WHERE f.bad_time) AS bad_time,
               count(*) FILTER (WHERE f.bucket IS NULL) AS untimed
        FROM filtered AS f
    ),
    grouped AS (
        SELECT GROUPING(b.assistant_mode) = 0 AS is_mode,
               GROUPING(b.intent_name) = 0 AS is_intent,
               GROUPING(b.intent_category) = 0 AS is_category,
               GROUPING(b.bucket) = 0 AS is_bucket,
               GROUPING(b.confidence_bin) = 0 AS is_bin,
               b.assistant_mode,
               b.intent_name,
               b.intent_category,
               b.bucket,
               b.confidence_bin,
               count(*) AS total,
               count(*) FILTER (WHERE b.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE b.outcome = 'escalated') AS escalated,
               avg(b.confidence) AS avg_confidence,
               count(b.confidence) AS n_confidence
        FROM binned AS b
        GROUP BY GROUPING SETS ((b.assistant_mode), (b.intent_name), (b.intent_category),
                                (b.bucket), (b.confidence_bin))
    ),
    histogram AS (
        SELECT n.bin, coalesce(g.total, 0) AS total
        FROM pg_catalog.generate_series(1, 10) AS n(bin)
        LEFT JOIN grouped AS g ON g.is_bin AND g.confidence_bin = n.bin
    ),
    sessions AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE NOT s.any_escalated) AS contained
        FROM (
            SELECT bool_or(f.outcome = 'escalated') AS any_escalated
            FROM filtered AS f
            WHERE f.session_id IS NOT NULL
            GROUP BY f.session_id
        ) AS s
    ),
    triggers AS (
        SELECT e.trigger_type, count(*) AS n
        FROM public.escalations AS e
        JOIN filtered AS f ON f.id = e.interaction_id
        GROUP BY e.trigger_type
    )
    SELECT pg_catalog.jsonb_build_object(
        'total_interactions', t.total,
        'resolved', t.resolved,
        'escalated', t.escalated,
        'resolution_rate', CASE WHEN t.total > 0 THEN t.resolved::double precision / t.total END,
        'escalation_rate', CASE WHEN t.total > 0 THEN t.escalated::double precision / t.total END,
        'avg_confidence', CASE WHEN t.n_confidence >= v_k THEN t.avg_confidence END,
        'processing_time_ms', pg_catalog.jsonb_build_object(
            'avg', CASE WHEN t.n_time >= v_k THEN t.pt_avg END,
            'p50', CASE WHEN t.n_time >= v_k THEN t.pt[1] END,
            'p95', CASE WHEN t.n_time >= v_k THEN t.pt[2] END,
            'p99', CASE WHEN t.n_time >= v_k THEN t.pt[3] END
        ),
        'by_mode', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'assistant_mode', g.assistant_mode,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.assistant_mode COLLATE pg_catalog."C")
            FROM grouped AS g
            WHERE g.is_mode AND g.total >= v_k
        ), '[]'::jsonb),
        'by_intent', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'intent_name', g.intent_name,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated,
                       'avg_confidence', CASE WHEN g.n_confidence >= v_k THEN g.avg_confidence END)
                   ORDER BY g.total DESC, g.intent_name COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_intent AND g.total >= v_k
        ), '[]'::jsonb),
        'by_intent_category', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'intent_category', g.intent_category,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.intent_category COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_category AND g.total >= v_k
        ), '[]'::jsonb),
        'escalations_by_trigger', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'trigger_type', tr.trigger_type,
                       'count', tr.n)
                   ORDER BY tr.n DESC, tr.trigger_type COLLATE pg_catalog."C")
            FROM triggers AS tr
            WHERE tr.n >= v_k
        ), '[]'::jsonb),
        'sessions', CASE WHEN s.total >= v_k
            THEN pg_catalog.jsonb_build_object('total', s.total, 'contained', s.contained)
            ELSE pg_catalog.jsonb_build_object('total', 0, 'contained', 0) END,
        'pipeline', pg_catalog.jsonb_build_object(
            'step_1_intent_completed', CASE WHEN t.total > 0 THEN t.step_1::double precision / t.total END,
            'step_2_routing_decision', CASE WHEN t.total > 0 THEN t.step_2::double precision / t.total END,
            'step_3_retrieval_performed', CASE WHEN t.total > 0 THEN t.step_3::double precision / t.total END,
            'step_4_response_generated', CASE WHEN t.total > 0 THEN t.step_4::double precision / t.total END,
            'step_5_confidence_score', CASE WHEN t.total > 0 THEN t.step_5::double precision / t.total END,
            'step_6_escalation_triggered', CASE WHEN t.total > 0 THEN t.step_6::double precision / t.total END
        ),
        'timeseries', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'bucket', pg_catalog.to_char(g.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.bucket)
            FROM grouped AS g
            WHERE g.is_bucket AND g.bucket IS NOT NULL AND g.total >= v_k
        ), '[]'::jsonb),
        'confidence_histogram', (
            SELECT pg_catalog.jsonb_agg(CASE WHEN h.total >= v_k THEN h.total END ORDER BY h.bin)
            FROM histogram AS h
        ),
        'excluded', pg_catalog.jsonb_build_object(
            'confidence_score', CASE WHEN t.bad_confidence >= v_k THEN t.bad_confidence END,
            'processing_time_ms', CASE WHEN t.bad_time >= v_k THEN t.bad_time END,
            'timestamp', CASE WHEN t.untimed >= v_k THEN t.untimed END
        ),
        'suppressed', pg_catalog.jsonb_build_object(
            'by_mode', (SELECT count(*) FROM grouped AS g WHERE g.is_mode AND g.total < v_k),
            'by_intent', (SELECT count(*) FROM grouped AS g WHERE g.is_intent AND g.total < v_k),
            'by_intent_category', (SELECT count(*) FROM grouped AS g WHERE g.is_category AND g.total < v_k),
            'escalations_by_trigger', (SELECT count(*) FROM triggers AS tr WHERE tr.n < v_k),
            'timeseries', (SELECT count(*) FROM grouped AS g
                           WHERE g.is_bucket AND g.bucket IS NOT NULL AND g.total < v_k),
            'confidence_histogram', (SELECT count(*) FROM histogram AS h WHERE h.total < v_k),
            'sessions', CASE WHEN s.total < v_k THEN 1 ELSE 0 END
        )
    )
    INTO v_result
    FROM totals AS t
    CROSS JOIN sessions AS s;

    IF (v_result ->> 'total_interactions')::bigint < v_k THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'window',
            'must hold at least ' || v_k || ' interactions with this key', NULL);
    END IF;
    RETURN v_result;
END;
$function$;

COMMENT ON FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text) IS
    'Dashboard metrics of public.interactions as one jsonb object; NULL arguments do not filter. '
    'p_bucket: hour, day (default) or week, in UTC. Values outside the model''s rules are left out of the '
    'aggregates they would corrupt and counted under "excluded". For the public key: only while '
    'assistant_db.set_public_metrics(true), whole-hour windows, groups of fewer than 10 rows suppressed.';

-- 8. The data-quality report. ------------------------------------------------------------

-- Per table: how many stored rows break each rule of the model, and one id to look at.
-- Citation problems are grouped whatever the citation's position (`citations[*].source`).
-- Escalations without an interaction are listed too: the model allows them, but they
-- count in no interaction's metrics. Reads every row: for operators, not for dashboards.
CREATE OR REPLACE FUNCTION public.data_quality_report()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH problems AS (
        SELECT 1 AS t, 'interactions' AS tbl, r.id,
               pg_catalog.regexp_replace(p.field, '^citations\[[0-9]+\]', 'citations[*]') AS field,
               p.rule
        FROM public.interactions AS r
        CROSS JOIN LATERAL assistant_db.interaction_problems(r) AS p
        UNION ALL
        SELECT 2, 'escalations', r.id, p.field, p.rule
        FROM public.escalations AS r
        CROSS JOIN LATERAL assistant_db.escalation_problems(r) AS p
        UNION ALL
        SELECT 2, 'escalations', r.id, 'interaction_id',
               'is NULL: the escalation belongs to no interaction and counts in no metrics'
        FROM public.escalations AS r
        WHERE r.interaction_id IS NULL
        UNION ALL
        SELECT 3, 'knowledge_documents', r.id, p.field, p.rule
        FROM public.knowledge_documents AS r
        CROSS JOIN LATERAL assistant_db.knowledge_document_problems(r) AS p
    ),
    per_rule AS (
        SELECT p.t, p.tbl, p.field, p.rule, count(DISTINCT p.id) AS n, min(p.id::text) AS example
        FROM problems AS p
        GROUP BY p.t, p.tbl, p.field, p.rule
    ),
    tables AS (
        SELECT * FROM (VALUES
            (1, 'interactions', (SELECT count(*) FROM public.interactions)),
            (2, 'escalations', (SELECT count(*) FROM public.escalations)),
            (3, 'knowledge_documents', (SELECT count(*) FROM public.knowledge_documents))
        ) AS v(t, tbl, n)
    )
    SELECT pg_catalog.jsonb_build_object(
        'checked_at', pg_catalog.now(),
        'tables', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
            'table', tb.tbl,
            'rows', tb.n,
            'rows_with_problems', (SELECT count(DISTINCT p.id) FROM problems AS p WHERE p.t = tb.t),
            'problems', coalesce((
                SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'field', pr.field, 'rule', pr.rule, 'rows', pr.n, 'example_id', pr.example)
                       ORDER BY pr.field COLLATE "C", pr.rule COLLATE "C")
                FROM per_rule AS pr
                WHERE pr.t = tb.t
            ), '[]'::jsonb))
            ORDER BY tb.t)
    )
    FROM tables AS tb
$$;

COMMENT ON FUNCTION public.data_quality_report() IS
    'Counts the stored rows that break each rule of the assistant-db model, per table, with one example id. '
    'service_role only; `assistant-db verify --data` prints it.';

-- 9. Grants, row-level security, pinned search paths. ------------------------------------

-- Every table, view and sequence in public and assistant_db beyond what the API needs is
-- closed to the public key and signed-in users: RLS on (tables), every privilege revoked.
-- _sqlx_migrations (the migration history) is one of them. A table this role does not
-- own cannot be altered here; `assistant-db verify` names it.
DO $close$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'assistant_db')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        BEGIN
            IF r.relkind IN ('r', 'p') THEN
                EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.rel);
            END IF;
            EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM PUBLIC, anon, authenticated',
                CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel);
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE WARNING 'assistant-db: cannot close % to the public key: %', r.rel, SQLERRM;
        END;
    END LOOP;
END
$close$;

ALTER DEFAULT PRIVILEGES IN SCHEMA assistant_db REVOKE ALL ON TABLES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA assistant_db REVOKE ALL ON SEQUENCES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA assistant_db REVOKE ALL ON FUNCTIONS FROM anon, authenticated;

-- Functions: PostgreSQL lets PUBLIC execute every new function, Supabase anon and
-- authenticated too. Ours: nobody but the owner, then exactly what each role needs.
REVOKE ALL ON FUNCTION
    public.log_interactions(jsonb, jsonb),
    public.interaction_metrics(text, timestamptz, timestamptz, text, text, text),
    public.upsert_knowledge_documents(jsonb),
    public.data_quality_report()
    FROM PUBLIC, anon, authenticated, service_role;

DO $internal$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'assistant_db'
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated, service_role', f);
    END LOOP;
END
$internal$;

-- 003 gave these an empty search_path; 002 and 003 pasted again would also drop SECURITY
-- DEFINER. Both are stated here again, so pasting this file repairs either.
ALTER FUNCTION public.log_interactions(jsonb, jsonb) SECURITY DEFINER;
ALTER FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text) SECURITY DEFINER;
ALTER FUNCTION public.data_quality_report() SECURITY DEFINER;
ALTER FUNCTION public.upsert_knowledge_documents(jsonb) SET search_path = pg_catalog, pg_temp;

GRANT EXECUTE ON FUNCTION
    public.log_interactions(jsonb, jsonb),
    public.interaction_metrics(text, timestamptz, timestamptz, text, text, text)
    TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION
    public.upsert_knowledge_documents(jsonb),
    public.data_quality_report()
    TO service_role;

-- The bound on one API call: the role's statement_timeout, which PostgREST applies on
-- every request. Supabase sets 3 s for anon and 8 s for authenticated; the same is set
-- here where a role has none, and a setting someone chose is left alone.
DO $timeouts$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('anon', '3s'), ('authenticated', '8s')) AS v(role, timeout)
    LOOP
        IF NOT EXISTS (
            SELECT 1
            FROM pg_catalog.pg_db_role_setting AS s
            JOIN pg_catalog.pg_roles AS ro ON ro.oid = s.setrole
            CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting)
            WHERE ro.rolname = r.role
              AND s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database AS d
                                        WHERE d.datname = pg_catalog.current_database()))
              AND c.setting LIKE 'statement\_timeout=%'
        ) THEN
            BEGIN
                EXECUTE pg_catalog.format('ALTER ROLE %I SET statement_timeout = %L', r.role, r.timeout);
            EXCEPTION
                -- Not allowed to this role, or another database of the cluster set it at
                -- the same moment; `assistant-db verify` reports a role without one.
                WHEN insufficient_privilege OR unique_violation OR internal_error THEN
                    RAISE NOTICE 'assistant-db: statement_timeout of % not set: %', r.role, SQLERRM;
            END;
        END IF;
    END LOOP;
END
$timeouts$;
