-- Dashboard metrics, computed by PostgreSQL in one place.
--
-- public.interaction_metrics(...) is the single source of truth for the dashboard: the
-- Rust client (assistant_db::metrics::fetch) and a REST transport (PostgREST RPC,
-- POST /rpc/interaction_metrics) both call it and get the same jsonb object.
--
-- Idempotent: CREATE OR REPLACE and COMMENT ON may be run any number of times, so this
-- file can be pasted into the Supabase SQL editor repeatedly.
--
-- Parameters (NULL = no filter):
--   p_mode      interactions.assistant_mode = p_mode
--   p_from      interactions."timestamp" >= p_from
--   p_to        interactions."timestamp" <= p_to
--   p_intent    interactions.intent_name = p_intent
--   p_category  interactions.intent_category = p_category
--   p_bucket    width of the timeseries buckets: 'hour', 'day' (default) or 'week',
--               truncated in UTC; anything else raises invalid_parameter_value (22023).
--
-- Design: the filtered rows are read from public.interactions ONCE, into a MATERIALIZED
-- CTE holding only the columns the aggregates need. With a time window or a mode the
-- read can use idx_interactions_timestamp / idx_interactions_mode (the plan is always a
-- custom plan for the actual arguments, see plan_cache_mode below, so unused filters
-- fold away instead of defeating the indexes). Every aggregate then reads that CTE, a
-- fixed four times in all:
--   1. totals      counts, rates, avg confidence, processing-time avg and percentiles
--                  (one sort, for the three percentile_cont fractions at once), pipeline;
--   2. grouped     one GROUPING SETS pass for by_mode, by_intent, by_intent_category
--                  and the timeseries;
--   3. sessions    distinct sessions and whether any of their filtered turns escalated;
--   4. escalations public.escalations joined to the filtered ids (a hash join, or
--                  idx_escalations_interaction for a small filtered set).
-- Text ordering uses the "C" collation, so the order is the same on every server.

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
SET search_path = ''
SET plan_cache_mode = 'force_custom_plan'
AS $function$
DECLARE
    v_result jsonb;
BEGIN
    IF p_bucket IS NULL OR p_bucket NOT IN ('hour', 'day', 'week') THEN
        RAISE EXCEPTION 'interaction_metrics: p_bucket must be one of ''hour'', ''day'', ''week'' (got %)',
            coalesce(pg_catalog.quote_literal(p_bucket), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Omit p_bucket for daily buckets.';
    END IF;

    WITH filtered AS MATERIALIZED (
        SELECT i.id,
               i.assistant_mode,
               i.session_id,
               i.intent_name,
               i.intent_category,
               i.outcome,
               i.confidence_score,
               i.processing_time_ms,
               i.step_1_intent_completed,
               i.step_2_routing_decision,
               i.step_3_retrieval_performed,
               i.step_4_response_generated,
               i.step_5_confidence_score,
               i.step_6_escalation_triggered,
               pg_catalog.date_trunc(p_bucket, i."timestamp", 'UTC') AS bucket
        FROM public.interactions AS i
        WHERE (p_mode IS NULL OR i.assistant_mode = p_mode)
          AND (p_from IS NULL OR i."timestamp" >= p_from)
          AND (p_to IS NULL OR i."timestamp" <= p_to)
          AND (p_intent IS NULL OR i.intent_name = p_intent)
          AND (p_category IS NULL OR i.intent_category = p_category)
    ),
    totals AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE f.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE f.outcome = 'escalated') AS escalated,
               avg(f.confidence_score) AS avg_confidence,
               avg(f.processing_time_ms)::double precision AS pt_avg,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[])
                   WITHIN GROUP (ORDER BY f.processing_time_ms::double precision) AS pt,
               count(*) FILTER (WHERE f.step_1_intent_completed) AS step_1,
               count(f.step_2_routing_decision) AS step_2,
               count(*) FILTER (WHERE f.step_3_retrieval_performed) AS step_3,
               count(*) FILTER (WHERE f.step_4_response_generated) AS step_4,
               count(f.step_5_confidence_score) AS step_5,
               count(*) FILTER (WHERE f.step_6_escalation_triggered) AS step_6
        FROM filtered AS f
    ),
    grouped AS (
        SELECT GROUPING(f.assistant_mode) = 0 AS is_mode,
               GROUPING(f.intent_name) = 0 AS is_intent,
               GROUPING(f.intent_category) = 0 AS is_category,
               GROUPING(f.bucket) = 0 AS is_bucket,
               f.assistant_mode,
               f.intent_name,
               f.intent_category,
               f.bucket,
               count(*) AS total,
               count(*) FILTER (WHERE f.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE f.outcome = 'escalated') AS escalated,
               avg(f.confidence_score) AS avg_confidence
        FROM filtered AS f
        GROUP BY GROUPING SETS ((f.assistant_mode), (f.intent_name), (f.intent_category), (f.bucket))
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
    SELECT jsonb_build_object(
        'total_interactions', t.total,
        'resolved', t.resolved,
        'escalated', t.escalated,
        'resolution_rate', CASE WHEN t.total > 0 THEN t.resolved::double precision / t.total END,
        'escalation_rate', CASE WHEN t.total > 0 THEN t.escalated::double precision / t.total END,
        'avg_confidence', t.avg_confidence,
        'processing_time_ms', jsonb_build_object(
            'avg', t.pt_avg,
            'p50', t.pt[1],
            'p95', t.pt[2],
            'p99', t.pt[3]
        ),
        'by_mode', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'assistant_mode', g.assistant_mode,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.assistant_mode COLLATE pg_catalog."C")
            FROM grouped AS g
            WHERE g.is_mode
        ), '[]'::jsonb),
        'by_intent', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'intent_name', g.intent_name,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated,
                       'avg_confidence', g.avg_confidence)
                   ORDER BY g.total DESC, g.intent_name COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_intent
        ), '[]'::jsonb),
        'by_intent_category', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'intent_category', g.intent_category,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.intent_category COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_category
        ), '[]'::jsonb),
        'escalations_by_trigger', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'trigger_type', tr.trigger_type,
                       'count', tr.n)
                   ORDER BY tr.n DESC, tr.trigger_type COLLATE pg_catalog."C")
            FROM triggers AS tr
        ), '[]'::jsonb),
        'sessions', jsonb_build_object(
            'total', s.total,
            'contained', s.contained
        ),
        'pipeline', jsonb_build_object(
            'step_1_intent_completed', CASE WHEN t.total > 0 THEN t.step_1::double precision / t.total END,
            'step_2_routing_decision', CASE WHEN t.total > 0 THEN t.step_2::double precision / t.total END,
            'step_3_retrieval_performed', CASE WHEN t.total > 0 THEN t.step_3::double precision / t.total END,
            'step_4_response_generated', CASE WHEN t.total > 0 THEN t.step_4::double precision / t.total END,
            'step_5_confidence_score', CASE WHEN t.total > 0 THEN t.step_5::double precision / t.total END,
            'step_6_escalation_triggered', CASE WHEN t.total > 0 THEN t.step_6::double precision / t.total END
        ),
        'timeseries', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'bucket', pg_catalog.to_char(g.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.bucket)
            FROM grouped AS g
            WHERE g.is_bucket AND g.bucket IS NOT NULL
        ), '[]'::jsonb)
    )
    INTO v_result
    FROM totals AS t
    CROSS JOIN sessions AS s;

    RETURN v_result;
END;
$function$;

COMMENT ON FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text) IS
    'Dashboard metrics of public.interactions as one jsonb object; NULL arguments do not filter. '
    'p_bucket: hour, day (default) or week, in UTC. Single source of truth for the Rust client '
    'and the REST RPC.';
