-- Text search over interactions, and metrics whose days start at midnight in a chosen
-- time zone.
--
-- 1. Search. `assistant-db interactions list --search`, `GET /api/interactions?q=` and the
--    dashboard's search box find interactions whose user_query or response_text contains
--    every word asked for, ignoring case: `user_query ILIKE '%word%' OR response_text
--    ILIKE '%word%'` per word, over both transports (PostgREST filters the two columns
--    itself). Two GIN indexes of pg_trgm's trigrams, one per column, answer those
--    patterns: a word is found by its three-character pieces, whatever its position in
--    the text. They are plain indexes on the spec's columns: the spec's table, columns
--    and nine indexes are unchanged.
--
--    pg_trgm is a trusted extension (PostgreSQL 13 and later): the database owner may
--    create it. It goes to schema `extensions` (Supabase keeps its extensions there; the
--    schema is created where it is missing), unless it is installed already, wherever
--    that is.
--
--    What the indexes cost is measured by `cargo bench -p assistant-db --bench search`
--    (README, Benchmarks): every insert adds each trigram of both texts to the indexes.
--    On a large table, creating them takes a while and holds writes meanwhile; the
--    logger's spool keeps what is logged in the meantime.
--
-- 2. Time zones. public.interaction_metrics_tz is interaction_metrics with a seventh
--    parameter, p_tz (an IANA name, default 'UTC'): day and week buckets start at midnight on that zone's clock
--    (weeks on Monday), daylight saving time included; hour buckets follow the zone's
--    hours too (they differ from UTC's only in zones whose offset is not whole hours).
--    A bucket is still labelled with the UTC instant at which it begins. Migration 005's
--    interaction_metrics is left unchanged. Everything else is 005's function: the same
--    rules, error messages, suppression and grants.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

-- 1. Search. -----------------------------------------------------------------------------

DO $search$
DECLARE
    v_schema name;
BEGIN
    SELECT n.nspname INTO v_schema
    FROM pg_catalog.pg_extension AS e
    JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF NOT FOUND THEN
        CREATE SCHEMA IF NOT EXISTS extensions;
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
        v_schema := 'extensions';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE INDEX IF NOT EXISTS idx_interactions_user_query_trgm '
        'ON public.interactions USING gin (user_query %I.gin_trgm_ops)', v_schema);
    EXECUTE pg_catalog.format(
        'CREATE INDEX IF NOT EXISTS idx_interactions_response_text_trgm '
        'ON public.interactions USING gin (response_text %I.gin_trgm_ops)', v_schema);
END
$search$;

COMMENT ON INDEX public.idx_interactions_user_query_trgm IS
    'assistant-db text search: trigrams of user_query, for ILIKE ''%word%''.';
COMMENT ON INDEX public.idx_interactions_response_text_trgm IS
    'assistant-db text search: trigrams of response_text, for ILIKE ''%word%''.';

-- 2. Metrics in a time zone. ---------------------------------------------------------------

-- A function of its own name beside migration 005's interaction_metrics, which stays
-- as it is: an overload with a defaulted p_tz would make every call without p_tz
-- ambiguous as soon as 005 is pasted again (it recreates the six-argument one).
CREATE OR REPLACE FUNCTION public.interaction_metrics_tz(
    p_mode text DEFAULT NULL,
    p_from timestamptz DEFAULT NULL,
    p_to timestamptz DEFAULT NULL,
    p_intent text DEFAULT NULL,
    p_category text DEFAULT NULL,
    p_bucket text DEFAULT 'day',
    p_tz text DEFAULT 'UTC'
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

    -- The zone: a name PostgreSQL's time zone database knows (IANA names such as
    -- Europe/Paris); anything else is refused naming the parameter.
    BEGIN
        IF p_tz IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM pg_catalog.date_trunc('day', pg_catalog.now(), p_tz);
    EXCEPTION
        WHEN invalid_parameter_value THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'tz',
                'must be an IANA time zone name such as Europe/Paris or UTC',
                coalesce(pg_catalog.quote_literal(p_tz), 'NULL'));
    END;

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
                    THEN pg_catalog.date_trunc(p_bucket, i."timestamp", p_tz) END AS bucket
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

COMMENT ON FUNCTION public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text) IS
    'Dashboard metrics of public.interactions as one jsonb object; NULL arguments do not filter. '
    'p_bucket: hour, day (default) or week, starting at midnight (weeks: Monday) in the time zone p_tz '
    '(an IANA name, default UTC; interaction_metrics is this in UTC); buckets are labelled with the UTC instant they begin at. Values outside '
    'the model''s rules are left out of the aggregates they would corrupt and counted under "excluded". '
    'For the public key: only while assistant_db.set_public_metrics(true), whole-hour windows, groups of '
    'fewer than 10 rows suppressed.';

-- As migration 005 sets every function of ours: nobody but the owner, then exactly the
-- roles that need it; the owner's rights (the rows are closed to the public key).
REVOKE ALL ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
ALTER FUNCTION public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    TO anon, authenticated, service_role;
