-- Rollups: the dashboard's cost grows with its window, not with the table's history.
--
-- After this migration:
--
--   * Four tables in schema assistant_db hold the interactions summed per UTC hour ×
--     assistant_mode × intent_name × intent_category:
--       rollup_hours     counts (all, resolved, escalated, each pipeline step), the
--                        confidence's count, sum and ten-bin histogram, the processing
--                        time's count and sum, and the values left out as the model
--                        refuses them (confidence outside [0, 1] or NaN, negative time);
--       rollup_times     the processing time's histogram: buckets of one millisecond
--                        below 128 ms, above that buckets 1.5 % wide, so a bucket's
--                        midpoint is within 0.75 % of every value in it;
--       rollup_sessions  per session_id: its interactions and its escalated ones;
--       rollup_triggers  escalations per trigger_type (an escalation counts in the hour
--                        and group of its interaction; one without an interaction does
--                        not count, as in the raw computation).
--     `hour` is date_trunc('hour', "timestamp", 'UTC'); an infinite timestamp keeps its
--     infinity and a NULL one is the NULL hour (the keys are NULLS NOT DISTINCT).
--   * Statement-level triggers with transition tables keep them exact, in the same
--     transaction as the write, whoever writes: log_interactions, the logger's COPY
--     path, PostgREST inserts of the spec's wrapper, the SQL editor. A replayed row that
--     ON CONFLICT DO NOTHING skips is in no transition table, so it counts once. UPDATE
--     moves a row's counts from its old values to its new ones; DELETE takes them away,
--     including the cascade to escalations (whose trigger fires after the
--     interactions', which sets the deleted rows' groups aside for it in a temporary
--     table emptied at commit) and retention. TRUNCATE empties them.
--   * Writers never wait for each other on the rollups. A trigger appends its changes to
--     a delta table (rollup_hours_delta, …), which takes no lock another writer waits
--     for, then folds every pending delta into the rollups if no other transaction is
--     folding (pg_try_advisory_xact_lock(2026, 11); READ COMMITTED only). Shared
--     counters updated in place would make concurrent writers on the same hours wait for
--     each other until commit, and deadlock whenever a transaction writes several
--     statements (the importer's pipelined transactions, erasures). Readers sum the
--     rollups and the pending deltas, so what they see is exact at every moment. A
--     group whose counts fall to zero is deleted by the fold, so erased session ids do
--     not linger.
--   * An escalation counts in its interaction's group as of its write: its trigger
--     locks the interaction FOR SHARE, so that an UPDATE moving the interaction to
--     another group (whose trigger moves its escalations) is ordered with it.
--   * public.interaction_metrics_tz (and interaction_metrics, which now calls it in
--     UTC) answer from the rollups for every hour wholly inside the window, and from raw
--     rows only for hours at its edges: the hours holding p_from, p_to and now() + 5
--     minutes (the horizon past which rows are "untimed"), and hours that straddle a
--     bucket boundary of p_tz (zones whose offset is not whole hours). Counts and rates
--     are exact; averages equal the raw ones up to floating point (sums are numeric);
--     p50/p95/p99 come from the histogram, interpolated as percentile_cont does, within
--     0.75 % of it. The JSON is the same object as before.
--   * assistant_db.interaction_metrics_raw is the former computation over raw rows,
--     kept for comparison (`assistant-db rollups check`, the scale benchmark).
--   * public.rollups_check(from, to) recomputes the rollups of the hours in [from, to)
--     from raw rows and counts the groups that differ; public.rollups_rebuild(from, to)
--     folds the deltas and replaces the range (the tables are locked against writers
--     meanwhile). NULL bounds mean the whole table. Both are for the table owner
--     (service_role and the owner).
--
-- Rows the model refuses but the schema allows: a NULL or infinite timestamp has its own
-- hour (NULL, ±infinity) and counts in windows the raw rule counts it in; a NaN or
-- out-of-range confidence and a negative processing time are counted as "excluded" and
-- in no average, histogram or percentile, as in the raw computation.
--
-- The spec's tables, columns and indexes are not changed. Idempotent: it may be pasted
-- into the SQL editor any number of times; the rollups are rebuilt from the raw rows when
-- this migration runs, with a NOTICE per month.

-- 1. The tables. ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS assistant_db.rollup_hours (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    total bigint NOT NULL,
    resolved bigint NOT NULL,
    escalated bigint NOT NULL,
    step_1 bigint NOT NULL,
    step_2 bigint NOT NULL,
    step_3 bigint NOT NULL,
    step_4 bigint NOT NULL,
    step_5 bigint NOT NULL,
    step_6 bigint NOT NULL,
    confidence_n bigint NOT NULL,
    confidence_sum numeric NOT NULL,
    confidence_bad bigint NOT NULL,
    confidence_bins bigint[] NOT NULL,
    time_n bigint NOT NULL,
    time_sum numeric NOT NULL,
    time_bad bigint NOT NULL,
    CONSTRAINT rollup_hours_key
        UNIQUE NULLS NOT DISTINCT (hour, assistant_mode, intent_name, intent_category)
);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_times (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    bucket smallint NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT rollup_times_key
        UNIQUE NULLS NOT DISTINCT (hour, assistant_mode, intent_name, intent_category, bucket)
);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_sessions (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    session_id text NOT NULL,
    n bigint NOT NULL,
    escalated bigint NOT NULL,
    CONSTRAINT rollup_sessions_key
        UNIQUE NULLS NOT DISTINCT (hour, assistant_mode, intent_name, intent_category, session_id)
);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_triggers (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    trigger_type text NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT rollup_triggers_key
        UNIQUE NULLS NOT DISTINCT (hour, assistant_mode, intent_name, intent_category, trigger_type)
);

COMMENT ON TABLE assistant_db.rollup_hours IS
    'assistant-db rollups: interactions per UTC hour, mode, intent and category (migration 011).';
COMMENT ON TABLE assistant_db.rollup_times IS
    'assistant-db rollups: processing-time histogram per hour and group (assistant_db.time_bucket).';
COMMENT ON TABLE assistant_db.rollup_sessions IS
    'assistant-db rollups: interactions and escalated ones per session, hour and group.';
COMMENT ON TABLE assistant_db.rollup_triggers IS
    'assistant-db rollups: escalations per trigger_type, in the hour and group of their interaction.';

REVOKE ALL ON assistant_db.rollup_hours, assistant_db.rollup_times,
              assistant_db.rollup_sessions, assistant_db.rollup_triggers
    FROM PUBLIC, anon, authenticated, service_role;
-- No policy: only the owner (whose functions maintain and read them) sees a row.
ALTER TABLE assistant_db.rollup_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_times ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_triggers ENABLE ROW LEVEL SECURITY;

-- What writers add, until the compaction folds it into the tables above: the same
-- columns, no key, appended to only.
CREATE TABLE IF NOT EXISTS assistant_db.rollup_hours_delta (LIKE assistant_db.rollup_hours);
CREATE TABLE IF NOT EXISTS assistant_db.rollup_times_delta (LIKE assistant_db.rollup_times);
CREATE TABLE IF NOT EXISTS assistant_db.rollup_sessions_delta (LIKE assistant_db.rollup_sessions);
CREATE TABLE IF NOT EXISTS assistant_db.rollup_triggers_delta (LIKE assistant_db.rollup_triggers);
COMMENT ON TABLE assistant_db.rollup_hours_delta IS
    'assistant-db rollups: changes to rollup_hours not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_times_delta IS
    'assistant-db rollups: changes to rollup_times not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_sessions_delta IS
    'assistant-db rollups: changes to rollup_sessions not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_triggers_delta IS
    'assistant-db rollups: changes to rollup_triggers not folded in yet (assistant_db.rollups_compact).';
REVOKE ALL ON assistant_db.rollup_hours_delta, assistant_db.rollup_times_delta,
              assistant_db.rollup_sessions_delta, assistant_db.rollup_triggers_delta
    FROM PUBLIC, anon, authenticated, service_role;
ALTER TABLE assistant_db.rollup_hours_delta ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_times_delta ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_sessions_delta ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistant_db.rollup_triggers_delta ENABLE ROW LEVEL SECURITY;

-- 2. Buckets of processing time. ------------------------------------------------------------

-- 0..127 ms exactly; from 128 ms on, bucket 128 + k holds [128·1.015^k, 128·1.015^(k+1)).
CREATE OR REPLACE FUNCTION assistant_db.time_bucket(p_ms integer)
RETURNS smallint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_ms IS NULL OR p_ms < 0 THEN NULL
        WHEN p_ms < 128 THEN p_ms::smallint
        ELSE (128 + pg_catalog.floor(pg_catalog.ln(p_ms::double precision / 128)
                                     / pg_catalog.ln(1.015)))::smallint
    END
$$;

-- The value a bucket stands for: itself below 128, else the midpoint of its range.
CREATE OR REPLACE FUNCTION assistant_db.time_bucket_value(p_bucket smallint)
RETURNS double precision
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_bucket < 128 THEN p_bucket::double precision
        ELSE 128 * pg_catalog.power(1.015::double precision, p_bucket - 128) * (1 + 1.015) / 2
    END
$$;

-- 3. What a set of rows adds to each rollup: one SELECT per table, built from the
--    source of the rows (a query giving `sign` and the interaction's columns, plus
--    `trigger_type` for the triggers) and the expression of their time key over `s`.
--    The triggers, the rebuild, the check and the metrics' edges all use these, so
--    the rollups cannot disagree with what they are compared with.

CREATE OR REPLACE FUNCTION assistant_db.rollup_select(
    p_table text,
    p_source text,
    p_key text DEFAULT 'pg_catalog.date_trunc(''hour'', s."timestamp", ''UTC'')'
)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_rows text := pg_catalog.format(
        'SELECT s0.*, %s AS key, '
        '       (s0.confidence_score >= 0 AND s0.confidence_score <= 1) AS ok_confidence '
        'FROM (%s) AS s0', pg_catalog.replace(p_key, 's.', 's0.'), p_source);
    v_group constant text := 's.key, s.assistant_mode, s.intent_name, s.intent_category';
BEGIN
    CASE p_table
    WHEN 'hours' THEN
        RETURN pg_catalog.format($q$
            SELECT %1$s,
                   sum(s.sign) AS total,
                   sum(CASE WHEN s.outcome = 'resolved' THEN s.sign ELSE 0 END) AS resolved,
                   sum(CASE WHEN s.outcome = 'escalated' THEN s.sign ELSE 0 END) AS escalated,
                   sum(CASE WHEN s.step_1_intent_completed THEN s.sign ELSE 0 END) AS step_1,
                   sum(CASE WHEN s.step_2_routing_decision IS NOT NULL THEN s.sign ELSE 0 END) AS step_2,
                   sum(CASE WHEN s.step_3_retrieval_performed THEN s.sign ELSE 0 END) AS step_3,
                   sum(CASE WHEN s.step_4_response_generated THEN s.sign ELSE 0 END) AS step_4,
                   sum(CASE WHEN s.step_5_confidence_score IS NOT NULL THEN s.sign ELSE 0 END) AS step_5,
                   sum(CASE WHEN s.step_6_escalation_triggered THEN s.sign ELSE 0 END) AS step_6,
                   sum(CASE WHEN s.ok_confidence THEN s.sign ELSE 0 END) AS confidence_n,
                   coalesce(sum(CASE WHEN s.ok_confidence
                                     THEN s.sign * s.confidence_score::numeric END), 0) AS confidence_sum,
                   sum(CASE WHEN s.confidence_score IS NOT NULL AND NOT s.ok_confidence
                            THEN s.sign ELSE 0 END) AS confidence_bad,
                   ARRAY[%2$s] AS confidence_bins,
                   sum(CASE WHEN s.processing_time_ms >= 0 THEN s.sign ELSE 0 END) AS time_n,
                   coalesce(sum(CASE WHEN s.processing_time_ms >= 0
                                     THEN s.sign * s.processing_time_ms::numeric END), 0) AS time_sum,
                   sum(CASE WHEN s.processing_time_ms < 0 THEN s.sign ELSE 0 END) AS time_bad
            FROM (%3$s) AS s
            GROUP BY %1$s
            $q$,
            v_group,
            (SELECT pg_catalog.string_agg(pg_catalog.format(
                 'sum(CASE WHEN s.ok_confidence AND LEAST(pg_catalog.width_bucket('
                 's.confidence_score, 0, 1, 10), 10) = %s THEN s.sign ELSE 0 END)', b), ', ' ORDER BY b)
             FROM pg_catalog.generate_series(1, 10) AS b),
            v_rows);
    WHEN 'times' THEN
        RETURN pg_catalog.format($q$
            SELECT %1$s, assistant_db.time_bucket(s.processing_time_ms) AS bucket, sum(s.sign) AS n
            FROM (%2$s) AS s
            WHERE s.processing_time_ms >= 0
            GROUP BY %1$s, 5
            $q$, v_group, v_rows);
    WHEN 'sessions' THEN
        RETURN pg_catalog.format($q$
            SELECT %1$s, s.session_id, sum(s.sign) AS n,
                   sum(CASE WHEN s.outcome = 'escalated' THEN s.sign ELSE 0 END) AS escalated
            FROM (%2$s) AS s
            WHERE s.session_id IS NOT NULL
            GROUP BY %1$s, s.session_id
            $q$, v_group, v_rows);
    WHEN 'triggers' THEN
        RETURN pg_catalog.format($q$
            SELECT %1$s, s.trigger_type, sum(s.sign) AS n
            FROM (%2$s) AS s
            GROUP BY %1$s, s.trigger_type
            $q$, v_group, v_rows);
    ELSE
        RAISE EXCEPTION 'rollup_select: no rollup %', pg_catalog.quote_literal(p_table)
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END;
$function$;

-- A group that changes something (an UPDATE can move a confidence without a count).
CREATE OR REPLACE FUNCTION assistant_db.rollup_nonzero(p_table text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_table
        WHEN 'hours' THEN
            'NOT (d.total = 0 AND d.resolved = 0 AND d.escalated = 0 AND d.step_1 = 0 '
            'AND d.step_2 = 0 AND d.step_3 = 0 AND d.step_4 = 0 AND d.step_5 = 0 AND d.step_6 = 0 '
            'AND d.confidence_n = 0 AND d.confidence_sum = 0 AND d.confidence_bad = 0 '
            'AND d.confidence_bins = ''{0,0,0,0,0,0,0,0,0,0}'' AND d.time_n = 0 AND d.time_sum = 0 '
            'AND d.time_bad = 0)'
        WHEN 'sessions' THEN '(d.n <> 0 OR d.escalated <> 0)'
        ELSE 'd.n <> 0'
    END
$$;

-- The statement that adds the rows of `p_select` (a rollup_select, or sums of deltas) to
-- one rollup table, in key order. Only the compaction, the rebuild and this migration
-- run it, one at a time (see rollups_compact).
CREATE OR REPLACE FUNCTION assistant_db.rollup_upsert_sql(p_table text, p_select text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_sets text;
BEGIN
    CASE p_table
    WHEN 'hours' THEN
        v_sets := 'total = r.total + EXCLUDED.total, resolved = r.resolved + EXCLUDED.resolved, '
            'escalated = r.escalated + EXCLUDED.escalated, step_1 = r.step_1 + EXCLUDED.step_1, '
            'step_2 = r.step_2 + EXCLUDED.step_2, step_3 = r.step_3 + EXCLUDED.step_3, '
            'step_4 = r.step_4 + EXCLUDED.step_4, step_5 = r.step_5 + EXCLUDED.step_5, '
            'step_6 = r.step_6 + EXCLUDED.step_6, confidence_n = r.confidence_n + EXCLUDED.confidence_n, '
            'confidence_sum = r.confidence_sum + EXCLUDED.confidence_sum, '
            'confidence_bad = r.confidence_bad + EXCLUDED.confidence_bad, '
            'confidence_bins = ARRAY(SELECT u.a + u.b FROM ROWS FROM (pg_catalog.unnest(r.confidence_bins), '
            'pg_catalog.unnest(EXCLUDED.confidence_bins)) WITH ORDINALITY AS u(a, b, k) ORDER BY u.k), '
            'time_n = r.time_n + EXCLUDED.time_n, '
            'time_sum = r.time_sum + EXCLUDED.time_sum, time_bad = r.time_bad + EXCLUDED.time_bad';
    WHEN 'sessions' THEN
        v_sets := 'n = r.n + EXCLUDED.n, escalated = r.escalated + EXCLUDED.escalated';
    ELSE
        v_sets := 'n = r.n + EXCLUDED.n';
    END CASE;
    RETURN pg_catalog.format(
        'INSERT INTO assistant_db.rollup_%1$s AS r SELECT * FROM (%2$s) AS d WHERE %3$s '
        'ORDER BY 1, 2, 3, 4%4$s '
        'ON CONFLICT ON CONSTRAINT rollup_%1$s_key DO UPDATE SET %5$s',
        p_table, p_select, assistant_db.rollup_nonzero(p_table),
        CASE WHEN p_table = 'hours' THEN '' ELSE ', 5' END, v_sets);
END;
$function$;

-- The statement a trigger runs: what `p_source`'s rows contribute to one rollup table,
-- appended to its delta table. Appending takes no lock another writer waits for, so
-- writers on the same hours never wait for each other, whatever their transactions do.
CREATE OR REPLACE FUNCTION assistant_db.rollup_delta_sql(p_table text, p_source text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('INSERT INTO assistant_db.rollup_%1$s_delta SELECT * FROM (%2$s) AS d WHERE %3$s;',
                             p_table, assistant_db.rollup_select(p_table, p_source),
                             assistant_db.rollup_nonzero(p_table))
$$;

-- The deltas of one table summed per group: what the compaction adds to the rollup.
CREATE OR REPLACE FUNCTION assistant_db.rollup_sum_sql(p_table text, p_from text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT m.hour, m.assistant_mode, m.intent_name, m.intent_category, %s '
                             'FROM (%s) AS m GROUP BY 1, 2, 3, 4%s',
        CASE p_table
            WHEN 'hours' THEN
                'sum(m.total) AS total, sum(m.resolved) AS resolved, sum(m.escalated) AS escalated, '
                'sum(m.step_1) AS step_1, sum(m.step_2) AS step_2, sum(m.step_3) AS step_3, '
                'sum(m.step_4) AS step_4, sum(m.step_5) AS step_5, sum(m.step_6) AS step_6, '
                'sum(m.confidence_n) AS confidence_n, sum(m.confidence_sum) AS confidence_sum, '
                'sum(m.confidence_bad) AS confidence_bad, ARRAY[sum(m.confidence_bins[1]), '
                'sum(m.confidence_bins[2]), sum(m.confidence_bins[3]), sum(m.confidence_bins[4]), '
                'sum(m.confidence_bins[5]), sum(m.confidence_bins[6]), sum(m.confidence_bins[7]), '
                'sum(m.confidence_bins[8]), sum(m.confidence_bins[9]), sum(m.confidence_bins[10])]::bigint[] '
                'AS confidence_bins, sum(m.time_n) AS time_n, sum(m.time_sum) AS time_sum, '
                'sum(m.time_bad) AS time_bad'
            WHEN 'times' THEN 'm.bucket, sum(m.n) AS n'
            WHEN 'sessions' THEN 'm.session_id, sum(m.n) AS n, sum(m.escalated) AS escalated'
            ELSE 'm.trigger_type, sum(m.n) AS n'
        END,
        p_from,
        CASE WHEN p_table = 'hours' THEN '' ELSE ', 5' END)
$$;

-- Folds every delta this transaction can see into the rollups and deletes the groups that
-- fell to zero (so erased session ids do not linger). One compaction at a time: the
-- caller holds the advisory lock ROLLUPS_LOCK (2026, 11); writers only try it and go on
-- without when another holds it, so no writer ever waits here.
CREATE OR REPLACE FUNCTION assistant_db.rollups_compact()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_table text;
    v_count text;
    v_zero tid[];
BEGIN
    FOREACH v_table IN ARRAY ARRAY['hours', 'times', 'sessions', 'triggers'] LOOP
        v_count := CASE v_table WHEN 'hours' THEN 'total' ELSE 'n' END;
        EXECUTE pg_catalog.format(
            'WITH moved AS (DELETE FROM assistant_db.rollup_%1$s_delta RETURNING *), '
            'up AS (%2$s RETURNING r.ctid AS at, r.%3$s AS n) '
            'SELECT array_agg(up.at) FILTER (WHERE up.n = 0) FROM up',
            v_table,
            assistant_db.rollup_upsert_sql(v_table, assistant_db.rollup_sum_sql(v_table, 'SELECT * FROM moved')),
            v_count)
            INTO v_zero;
        IF v_zero IS NOT NULL THEN
            EXECUTE pg_catalog.format('DELETE FROM assistant_db.rollup_%s WHERE ctid = ANY ($1)', v_table)
                USING v_zero;
        END IF;
    END LOOP;
END;
$function$;

-- 4. The triggers, generated from the statements above so that each holds plain SQL
--    (planned once per session, not per statement).

DO $generate$
DECLARE
    v_columns constant text :=
        '"timestamp", assistant_mode, intent_name, intent_category, outcome, session_id, '
        'step_1_intent_completed, step_2_routing_decision, step_3_retrieval_performed, '
        'step_4_response_generated, step_5_confidence_score, step_6_escalation_triggered, '
        'confidence_score, processing_time_ms';
    -- Rows of an UPDATE whose counted columns changed: the old ones subtract, the new add.
    v_changed text;
    v_inserted constant text := 'SELECT 1 AS sign, * FROM new_rows';
    v_deleted constant text := 'SELECT -1 AS sign, * FROM old_rows';
    v_body text;
BEGIN
    v_changed := pg_catalog.format(
        'SELECT -1 AS sign, o.* FROM old_rows AS o WHERE NOT EXISTS (SELECT FROM new_rows AS n '
        'WHERE n.id = o.id AND (%1$s) IS NOT DISTINCT FROM (%2$s)) '
        'UNION ALL SELECT 1 AS sign, n.* FROM new_rows AS n WHERE NOT EXISTS (SELECT FROM old_rows AS o '
        'WHERE o.id = n.id AND (%1$s) IS NOT DISTINCT FROM (%2$s))',
        (SELECT pg_catalog.string_agg('n.' || pg_catalog.btrim(c), ', ')
         FROM pg_catalog.unnest(pg_catalog.string_to_array(v_columns, ',')) AS c),
        (SELECT pg_catalog.string_agg('o.' || pg_catalog.btrim(c), ', ')
         FROM pg_catalog.unnest(pg_catalog.string_to_array(v_columns, ',')) AS c));

    -- Statement-level triggers: interactions and escalations, INSERT, DELETE, UPDATE. Each
    -- appends its deltas, then folds what is pending into the rollups if no other
    -- transaction is doing so (READ COMMITTED only: at REPEATABLE READ the fold could
    -- meet rows another fold changed after the snapshot).
    FOR v_body IN
        SELECT pg_catalog.format(
            'CREATE OR REPLACE FUNCTION assistant_db.%s() RETURNS trigger LANGUAGE plpgsql '
            'SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS %L',
            f.name,
            'BEGIN ' || f.body
            || ' IF pg_catalog.current_setting(''transaction_isolation'') = ''read committed'' '
               'AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN '
               'PERFORM assistant_db.rollups_compact(); END IF; RETURN NULL; END;')
        FROM (VALUES
            ('rollups_interactions_inserted',
             assistant_db.rollup_delta_sql('hours', v_inserted)
             || assistant_db.rollup_delta_sql('times', v_inserted)
             || assistant_db.rollup_delta_sql('sessions', v_inserted)),
            -- The cascade deletes the escalations of the deleted interactions, and their
            -- trigger fires after this one, when the interactions are gone: this one sets
            -- their groups aside for it, in a temporary table emptied at commit and by
            -- the next such statement. (The tests' rollups_check would show it if
            -- PostgreSQL changed that order.)
            ('rollups_interactions_deleted',
             assistant_db.rollup_delta_sql('hours', v_deleted)
             || assistant_db.rollup_delta_sql('times', v_deleted)
             || assistant_db.rollup_delta_sql('sessions', v_deleted)
             || ' IF pg_catalog.to_regclass(''pg_temp.rollup_deleted'') IS NULL THEN '
                'CREATE TEMPORARY TABLE rollup_deleted (id uuid NOT NULL, "timestamp" timestamptz, '
                'assistant_mode text NOT NULL, intent_name text, intent_category text, '
                'confidence_score double precision) ON COMMIT DELETE ROWS; END IF; '
                'DELETE FROM pg_temp.rollup_deleted; '
                'INSERT INTO pg_temp.rollup_deleted SELECT o.id, o."timestamp", o.assistant_mode, '
                'o.intent_name, o.intent_category, NULL FROM old_rows AS o;'),
            ('rollups_interactions_updated',
             assistant_db.rollup_delta_sql('hours', v_changed)
             || assistant_db.rollup_delta_sql('times', v_changed)
             || assistant_db.rollup_delta_sql('sessions', v_changed)
             || assistant_db.rollup_delta_sql('triggers',
                    'SELECT c.*, e.trigger_type FROM (' || v_changed || ') AS c '
                    'JOIN public.escalations AS e ON e.interaction_id = c.id')),
            -- An escalation counts in its interaction's group as of now: the interaction is
            -- locked FOR SHARE, so that an UPDATE moving it to another group (whose trigger
            -- moves its escalations) waits for this transaction, or this one for it.
            ('rollups_escalations_inserted',
             assistant_db.rollup_delta_sql('triggers',
                 'SELECT 1 AS sign, i.*, e.trigger_type FROM new_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id FOR SHARE OF i')),
            -- An escalation whose interaction is gone was deleted by the cascade of that
            -- interaction's DELETE: its group is in what that statement set aside.
            ('rollups_escalations_deleted',
             assistant_db.rollup_delta_sql('triggers',
                 'SELECT -1 AS sign, i.*, e.trigger_type FROM old_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id FOR SHARE OF i')
             || ' IF pg_catalog.to_regclass(''pg_temp.rollup_deleted'') IS NOT NULL THEN '
             || assistant_db.rollup_delta_sql('triggers',
                    'SELECT -1 AS sign, d.*, e.trigger_type FROM old_rows AS e '
                    'JOIN pg_temp.rollup_deleted AS d ON d.id = e.interaction_id '
                    'WHERE NOT EXISTS (SELECT FROM public.interactions AS i WHERE i.id = e.interaction_id)')
             || ' END IF;'),
            ('rollups_escalations_updated',
             assistant_db.rollup_delta_sql('triggers',
                 'SELECT * FROM (SELECT -1 AS sign, i.*, e.trigger_type FROM old_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id '
                 'WHERE NOT EXISTS (SELECT FROM new_rows AS n WHERE n.id = e.id '
                 'AND (n.interaction_id, n.trigger_type) IS NOT DISTINCT FROM (e.interaction_id, e.trigger_type)) '
                 'FOR SHARE OF i) AS o '
                 'UNION ALL SELECT * FROM (SELECT 1 AS sign, i.*, e.trigger_type FROM new_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id '
                 'WHERE NOT EXISTS (SELECT FROM old_rows AS o WHERE o.id = e.id '
                 'AND (o.interaction_id, o.trigger_type) IS NOT DISTINCT FROM (e.interaction_id, e.trigger_type)) '
                 'FOR SHARE OF i) AS n'))
        ) AS f(name, body)
    LOOP
        EXECUTE v_body;
    END LOOP;
END
$generate$;

CREATE OR REPLACE FUNCTION assistant_db.rollups_truncated()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF TG_TABLE_NAME = 'interactions' THEN
        DELETE FROM assistant_db.rollup_hours;
        DELETE FROM assistant_db.rollup_times;
        DELETE FROM assistant_db.rollup_sessions;
        DELETE FROM assistant_db.rollup_hours_delta;
        DELETE FROM assistant_db.rollup_times_delta;
        DELETE FROM assistant_db.rollup_sessions_delta;
    END IF;
    DELETE FROM assistant_db.rollup_triggers;
    DELETE FROM assistant_db.rollup_triggers_delta;
    RETURN NULL;
END;
$function$;

DROP TRIGGER IF EXISTS rollups_inserted ON public.interactions;
CREATE TRIGGER rollups_inserted AFTER INSERT ON public.interactions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_interactions_inserted();
DROP TRIGGER IF EXISTS rollups_deleted ON public.interactions;
CREATE TRIGGER rollups_deleted AFTER DELETE ON public.interactions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_interactions_deleted();
DROP TRIGGER IF EXISTS rollups_updated ON public.interactions;
CREATE TRIGGER rollups_updated AFTER UPDATE ON public.interactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_interactions_updated();
DROP TRIGGER IF EXISTS rollups_truncated ON public.interactions;
CREATE TRIGGER rollups_truncated AFTER TRUNCATE ON public.interactions
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_truncated();

DROP TRIGGER IF EXISTS rollups_inserted ON public.escalations;
CREATE TRIGGER rollups_inserted AFTER INSERT ON public.escalations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_escalations_inserted();
DROP TRIGGER IF EXISTS rollups_deleted ON public.escalations;
CREATE TRIGGER rollups_deleted AFTER DELETE ON public.escalations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_escalations_deleted();
DROP TRIGGER IF EXISTS rollups_updated ON public.escalations;
CREATE TRIGGER rollups_updated AFTER UPDATE ON public.escalations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_escalations_updated();
DROP TRIGGER IF EXISTS rollups_truncated ON public.escalations;
CREATE TRIGGER rollups_truncated AFTER TRUNCATE ON public.escalations
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_db.rollups_truncated();

-- 5. Rebuild and check. ---------------------------------------------------------------------

-- The condition "`p_column` is in [p_from, p_to)" with rollup_raw_source's NULL bounds.
CREATE OR REPLACE FUNCTION assistant_db.rollup_range(p_column text, p_from timestamptz, p_to timestamptz)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_from IS NULL AND p_to IS NULL THEN 'true'
                ELSE pg_catalog.format('%1$s >= %2$L AND %1$s %3$s %4$L', p_column,
                         coalesce(p_from, '-infinity'),
                         CASE WHEN p_to IS NULL THEN '<=' ELSE '<' END,
                         coalesce(p_to, 'infinity'))
           END
$$;

-- The raw rows of the hours in [p_from, p_to) (whole hours, UTC; a NULL bound is no
-- bound, infinities included; rows without a timestamp only when both are NULL), as a
-- rollup source.
CREATE OR REPLACE FUNCTION assistant_db.rollup_raw_source(
    p_from timestamptz, p_to timestamptz, p_triggers boolean)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'SELECT 1 AS sign, i.*%s FROM public.interactions AS i%s WHERE %s',
        CASE WHEN p_triggers THEN ', e.trigger_type' ELSE '' END,
        CASE WHEN p_triggers THEN ' JOIN public.escalations AS e ON e.interaction_id = i.id' ELSE '' END,
        assistant_db.rollup_range('i."timestamp"', p_from, p_to))
$$;

-- [p_from, p_to) widened to whole UTC hours.
CREATE OR REPLACE FUNCTION assistant_db.rollup_hours_of(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (from_hour timestamptz, to_hour timestamptz)
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.date_trunc('hour', p_from, 'UTC'),
           CASE WHEN p_to IS NULL OR NOT pg_catalog.isfinite(p_to) THEN p_to
                WHEN pg_catalog.date_trunc('hour', p_to, 'UTC') = p_to THEN p_to
                ELSE pg_catalog.date_trunc('hour', p_to, 'UTC') + interval '1 hour' END
$$;

-- What is stored for the hours in a range, rollups and pending deltas summed per group.
CREATE OR REPLACE FUNCTION assistant_db.rollup_stored_sql(p_table text, p_from timestamptz, p_to timestamptz)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT * FROM (%s) AS d WHERE %s',
        assistant_db.rollup_sum_sql(p_table, pg_catalog.format(
            'SELECT * FROM assistant_db.rollup_%1$s AS r WHERE %2$s '
            'UNION ALL SELECT * FROM assistant_db.rollup_%1$s_delta AS r WHERE %2$s',
            p_table, assistant_db.rollup_range('r.hour', p_from, p_to))),
        assistant_db.rollup_nonzero(p_table))
$$;

CREATE OR REPLACE FUNCTION public.rollups_check(p_from timestamptz DEFAULT NULL, p_to timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
    v_table text;
    v_drift bigint;
    v_result jsonb := '{}';
BEGIN
    SELECT h.from_hour, h.to_hour INTO v_from, v_to FROM assistant_db.rollup_hours_of(p_from, p_to) AS h;
    FOREACH v_table IN ARRAY ARRAY['hours', 'times', 'sessions', 'triggers'] LOOP
        -- One statement, so one snapshot of the rollups and the rows.
        EXECUTE pg_catalog.format(
            'WITH stored AS (%1$s), raw AS (SELECT * FROM (%2$s) AS d WHERE %3$s) '
            'SELECT (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM raw) AS a) '
            '     + (SELECT count(*) FROM (SELECT * FROM raw EXCEPT ALL SELECT * FROM stored) AS b)',
            assistant_db.rollup_stored_sql(v_table, v_from, v_to),
            assistant_db.rollup_select(v_table,
                assistant_db.rollup_raw_source(v_from, v_to, v_table = 'triggers')),
            assistant_db.rollup_nonzero(v_table))
        INTO v_drift;
        v_result := v_result || pg_catalog.jsonb_build_object(v_table, v_drift);
    END LOOP;
    RETURN pg_catalog.jsonb_build_object(
        'from', v_from, 'to', v_to, 'groups_differing', v_result,
        'ok', NOT EXISTS (SELECT FROM pg_catalog.jsonb_each_text(v_result) AS e WHERE e.value <> '0'));
END;
$function$;

CREATE OR REPLACE FUNCTION public.rollups_rebuild(p_from timestamptz DEFAULT NULL, p_to timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
    v_table text;
    v_rows bigint;
BEGIN
    SELECT h.from_hour, h.to_hour INTO v_from, v_to FROM assistant_db.rollup_hours_of(p_from, p_to) AS h;
    -- Writers wait (readers do not) until the transaction ends: a row written meanwhile
    -- would be counted by its trigger and by the rebuild. Then every delta is folded in
    -- (no other fold runs meanwhile), and the range is replaced.
    PERFORM pg_catalog.pg_advisory_xact_lock(2026, 11);
    LOCK TABLE public.interactions, public.escalations IN SHARE MODE;
    PERFORM assistant_db.rollups_compact();
    FOREACH v_table IN ARRAY ARRAY['hours', 'times', 'sessions', 'triggers'] LOOP
        EXECUTE pg_catalog.format('DELETE FROM assistant_db.rollup_%s AS r WHERE %s', v_table,
                                  assistant_db.rollup_range('r.hour', v_from, v_to));
        EXECUTE assistant_db.rollup_upsert_sql(v_table, assistant_db.rollup_select(v_table,
            assistant_db.rollup_raw_source(v_from, v_to, v_table = 'triggers')));
    END LOOP;
    EXECUTE 'SELECT count(*) FROM (' || assistant_db.rollup_raw_source(v_from, v_to, false) || ') AS s'
        INTO v_rows;
    RETURN v_rows;
END;
$function$;

COMMENT ON FUNCTION public.rollups_check(timestamptz, timestamptz) IS
    'assistant-db: recomputes the rollups of the hours in [p_from, p_to) from the raw rows and counts '
    'the groups that differ per table ({"ok": true} when none). NULL bounds: every hour.';
COMMENT ON FUNCTION public.rollups_rebuild(timestamptz, timestamptz) IS
    'assistant-db: replaces the rollups of the hours in [p_from, p_to) by what the raw rows give, '
    'holding writers meanwhile; returns the interactions read. NULL bounds: every hour.';

-- 6. Metrics from the rollups. ----------------------------------------------------------------

-- The computation over raw rows as migration 010 left it, under another name: what
-- `rollups check`, the tests and the scale benchmark compare with. Copied from the
-- function itself, once (a later paste finds the rollups in it and leaves the copy).
DO $raw$
DECLARE
    v_def text := pg_catalog.pg_get_functiondef(
        'public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)'::pg_catalog.regprocedure);
BEGIN
    IF pg_catalog.strpos(v_def, 'rollup_hours') = 0 THEN
        EXECUTE pg_catalog.replace(v_def, 'public.interaction_metrics_tz(', 'assistant_db.interaction_metrics_raw(');
    END IF;
END
$raw$;

REVOKE ALL ON FUNCTION
    assistant_db.interaction_metrics_raw(text, timestamptz, timestamptz, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;

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
AS $function$
DECLARE
    v_result jsonb;
    -- The smallest group shown: every group for callers that may read the rows anyway.
    v_k integer := 0;
    v_horizon constant timestamptz := pg_catalog.now() + interval '5 minutes';
    -- Parameters of the dynamic statements: $1 mode, $2 from, $3 to, $4 intent,
    -- $5 category, $6 bucket, $7 zone, $8 horizon, $9 the edge hours, $10 k.
    v_groups text := '';
    v_whole text;
    v_edges timestamptz[];
    v_edge_rows text;
    v_edge_escalations text;
    v_key constant text :=
        'CASE WHEN pg_catalog.isfinite(s."timestamp") AND s."timestamp" <= $8 '
        'THEN pg_catalog.date_trunc($6, s."timestamp", $7) END';
    v_last constant text := '(r.hour + interval ''1 hour'' - interval ''1 microsecond'')';
BEGIN
    IF p_bucket IS NULL OR p_bucket NOT IN ('hour', 'day', 'week') THEN
        RAISE EXCEPTION 'interaction_metrics: p_bucket must be one of ''hour'', ''day'', ''week'' (got %)',
            coalesce(pg_catalog.quote_literal(p_bucket), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Omit p_bucket for daily buckets.';
    END IF;

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

    -- The filters on a rollup row `r`; the hour bounds let the key's index find them.
    IF p_mode IS NOT NULL THEN v_groups := v_groups || ' AND r.assistant_mode = $1'; END IF;
    IF p_intent IS NOT NULL THEN v_groups := v_groups || ' AND r.intent_name = $4'; END IF;
    IF p_category IS NOT NULL THEN v_groups := v_groups || ' AND r.intent_category = $5'; END IF;
    IF p_from IS NOT NULL THEN
        v_groups := v_groups || ' AND r.hour >= pg_catalog.date_trunc(''hour'', $2, ''UTC'')';
    END IF;
    IF p_to IS NOT NULL THEN v_groups := v_groups || ' AND r.hour <= $3'; END IF;

    -- An hour is answered by its rollup when all its rows are in the window, on the same
    -- side of the horizon and in the same bucket; a NULL or infinite hour when its rows
    -- are in the window (their timestamp is the hour itself).
    v_whole := pg_catalog.format(
        'CASE WHEN r.hour IS NULL THEN $2 IS NULL AND $3 IS NULL '
        '     WHEN NOT pg_catalog.isfinite(r.hour) THEN ($2 IS NULL OR r.hour >= $2) AND ($3 IS NULL OR r.hour <= $3) '
        '     ELSE ($2 IS NULL OR r.hour >= $2) AND ($3 IS NULL OR %1$s <= $3) '
        '          AND NOT (r.hour <= $8 AND %1$s > $8) '
        '          AND pg_catalog.date_trunc($6, r.hour, $7) = pg_catalog.date_trunc($6, %1$s, $7) END',
        v_last);

    -- The other hours the window touches are read from the raw rows.
    EXECUTE pg_catalog.format(
        'SELECT ARRAY(SELECT DISTINCT r.hour FROM (SELECT * FROM assistant_db.rollup_hours UNION ALL SELECT * FROM assistant_db.rollup_hours_delta) AS r '
        'WHERE pg_catalog.isfinite(r.hour) %s AND NOT (%s) '
        'AND ($2 IS NULL OR %s >= $2) AND ($3 IS NULL OR r.hour <= $3))',
        v_groups, v_whole, v_last)
        INTO v_edges
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon;

    v_edge_rows := 'SELECT 1 AS sign, i.* FROM pg_catalog.unnest($9::timestamptz[]) AS e(hour) '
        'JOIN public.interactions AS i ON i."timestamp" >= e.hour AND i."timestamp" < e.hour + interval ''1 hour'' '
        'WHERE ($1 IS NULL OR i.assistant_mode = $1) AND ($2 IS NULL OR i."timestamp" >= $2) '
        'AND ($3 IS NULL OR i."timestamp" <= $3) AND ($4 IS NULL OR i.intent_name = $4) '
        'AND ($5 IS NULL OR i.intent_category = $5)';
    v_edge_escalations := 'SELECT r.*, x.trigger_type FROM (' || v_edge_rows || ') AS r '
        'JOIN public.escalations AS x ON x.interaction_id = r.id';

    EXECUTE pg_catalog.format($query$
    WITH units AS MATERIALIZED (
        SELECT CASE WHEN pg_catalog.isfinite(r.hour) AND %1$s <= $8
                    THEN pg_catalog.date_trunc($6, r.hour, $7) END AS key,
               r.assistant_mode, r.intent_name, r.intent_category, r.total, r.resolved, r.escalated,
               r.step_1, r.step_2, r.step_3, r.step_4, r.step_5, r.step_6, r.confidence_n,
               r.confidence_sum, r.confidence_bad, r.confidence_bins, r.time_n, r.time_sum, r.time_bad
        FROM (SELECT * FROM assistant_db.rollup_hours UNION ALL SELECT * FROM assistant_db.rollup_hours_delta) AS r
        WHERE (%2$s) %3$s
        UNION ALL
        %4$s
    ),
    times AS (
        SELECT t.bucket, sum(t.n) AS n
        FROM (SELECT r.bucket, r.n FROM (SELECT * FROM assistant_db.rollup_times UNION ALL SELECT * FROM assistant_db.rollup_times_delta) AS r WHERE (%2$s) %3$s
              UNION ALL
              SELECT d.bucket, d.n FROM (%5$s) AS d) AS t
        GROUP BY t.bucket
        HAVING sum(t.n) > 0
    ),
    ranked AS (
        SELECT t.bucket, t.n, sum(t.n) OVER (ORDER BY t.bucket) - t.n AS before
        FROM times AS t
    ),
    percentiles AS (
        SELECT ARRAY(
            SELECT lo.v + (q.r - pg_catalog.floor(q.r)) * (hi.v - lo.v)
            FROM (SELECT p.p, p.p * (n.n - 1) AS r
                  FROM pg_catalog.unnest(ARRAY[0.5, 0.95, 0.99]::double precision[]) AS p(p),
                       (SELECT sum(t.n) AS n FROM times AS t) AS n
                  WHERE n.n > 0) AS q
            CROSS JOIN LATERAL (SELECT assistant_db.time_bucket_value(k.bucket) AS v FROM ranked AS k
                                WHERE k.before <= pg_catalog.floor(q.r) AND pg_catalog.floor(q.r) < k.before + k.n) AS lo
            CROSS JOIN LATERAL (SELECT assistant_db.time_bucket_value(k.bucket) AS v FROM ranked AS k
                                WHERE k.before <= pg_catalog.ceil(q.r) AND pg_catalog.ceil(q.r) < k.before + k.n) AS hi
            ORDER BY q.p) AS pt
    ),
    totals AS (
        SELECT coalesce(sum(u.total), 0) AS total,
               coalesce(sum(u.resolved), 0) AS resolved,
               coalesce(sum(u.escalated), 0) AS escalated,
               (sum(u.confidence_sum) / NULLIF(sum(u.confidence_n), 0))::double precision AS avg_confidence,
               coalesce(sum(u.confidence_n), 0) AS n_confidence,
               (sum(u.time_sum) / NULLIF(sum(u.time_n), 0))::double precision AS pt_avg,
               coalesce(sum(u.time_n), 0) AS n_time,
               coalesce(sum(u.step_1), 0) AS step_1,
               coalesce(sum(u.step_2), 0) AS step_2,
               coalesce(sum(u.step_3), 0) AS step_3,
               coalesce(sum(u.step_4), 0) AS step_4,
               coalesce(sum(u.step_5), 0) AS step_5,
               coalesce(sum(u.step_6), 0) AS step_6,
               coalesce(sum(u.confidence_bad), 0) AS bad_confidence,
               coalesce(sum(u.time_bad), 0) AS bad_time,
               coalesce(sum(u.total) FILTER (WHERE u.key IS NULL), 0) AS untimed
        FROM units AS u
    ),
    grouped AS (
        SELECT GROUPING(u.assistant_mode) = 0 AS is_mode,
               GROUPING(u.intent_name) = 0 AS is_intent,
               GROUPING(u.intent_category) = 0 AS is_category,
               GROUPING(u.key) = 0 AS is_bucket,
               u.assistant_mode,
               u.intent_name,
               u.intent_category,
               u.key AS bucket,
               sum(u.total) AS total,
               sum(u.resolved) AS resolved,
               sum(u.escalated) AS escalated,
               (sum(u.confidence_sum) / NULLIF(sum(u.confidence_n), 0))::double precision AS avg_confidence,
               sum(u.confidence_n) AS n_confidence
        FROM units AS u
        GROUP BY GROUPING SETS ((u.assistant_mode), (u.intent_name), (u.intent_category), (u.key))
        HAVING sum(u.total) > 0
    ),
    histogram AS (
        SELECT n.bin, coalesce((SELECT sum(u.confidence_bins[n.bin]) FROM units AS u), 0) AS total
        FROM pg_catalog.generate_series(1, 10) AS n(bin)
    ),
    sessions AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE s.escalated = 0) AS contained
        FROM (
            SELECT x.session_id, sum(x.escalated) AS escalated
            FROM (SELECT r.session_id, r.n, r.escalated FROM (SELECT * FROM assistant_db.rollup_sessions UNION ALL SELECT * FROM assistant_db.rollup_sessions_delta) AS r
                  WHERE (%2$s) %3$s
                  UNION ALL
                  SELECT d.session_id, d.n, d.escalated FROM (%6$s) AS d) AS x
            GROUP BY x.session_id
            HAVING sum(x.n) > 0
        ) AS s
    ),
    triggers AS (
        SELECT x.trigger_type, sum(x.n) AS n
        FROM (SELECT r.trigger_type, r.n FROM (SELECT * FROM assistant_db.rollup_triggers UNION ALL SELECT * FROM assistant_db.rollup_triggers_delta) AS r WHERE (%2$s) %3$s
              UNION ALL
              SELECT d.trigger_type, d.n FROM (%7$s) AS d) AS x
        GROUP BY x.trigger_type
        HAVING sum(x.n) > 0
    )
    SELECT pg_catalog.jsonb_build_object(
        'total_interactions', t.total,
        'resolved', t.resolved,
        'escalated', t.escalated,
        'resolution_rate', CASE WHEN t.total > 0 THEN t.resolved::double precision / t.total END,
        'escalation_rate', CASE WHEN t.total > 0 THEN t.escalated::double precision / t.total END,
        'avg_confidence', CASE WHEN t.n_confidence >= $10 THEN t.avg_confidence END,
        'processing_time_ms', pg_catalog.jsonb_build_object(
            'avg', CASE WHEN t.n_time >= $10 THEN t.pt_avg END,
            'p50', CASE WHEN t.n_time >= $10 THEN pc.pt[1] END,
            'p95', CASE WHEN t.n_time >= $10 THEN pc.pt[2] END,
            'p99', CASE WHEN t.n_time >= $10 THEN pc.pt[3] END
        ),
        'by_mode', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'assistant_mode', g.assistant_mode,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.assistant_mode COLLATE pg_catalog."C")
            FROM grouped AS g
            WHERE g.is_mode AND g.total >= $10
        ), '[]'::jsonb),
        'by_intent', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'intent_name', g.intent_name,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated,
                       'avg_confidence', CASE WHEN g.n_confidence >= $10 THEN g.avg_confidence END)
                   ORDER BY g.total DESC, g.intent_name COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_intent AND g.total >= $10
        ), '[]'::jsonb),
        'by_intent_category', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'intent_category', g.intent_category,
                       'total', g.total,
                       'resolved', g.resolved,
                       'escalated', g.escalated)
                   ORDER BY g.intent_category COLLATE pg_catalog."C" NULLS LAST)
            FROM grouped AS g
            WHERE g.is_category AND g.total >= $10
        ), '[]'::jsonb),
        'escalations_by_trigger', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'trigger_type', tr.trigger_type,
                       'count', tr.n)
                   ORDER BY tr.n DESC, tr.trigger_type COLLATE pg_catalog."C")
            FROM triggers AS tr
            WHERE tr.n >= $10
        ), '[]'::jsonb),
        'sessions', CASE WHEN s.total >= $10
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
            WHERE g.is_bucket AND g.bucket IS NOT NULL AND g.total >= $10
        ), '[]'::jsonb),
        'confidence_histogram', (
            SELECT pg_catalog.jsonb_agg(CASE WHEN h.total >= $10 THEN h.total END ORDER BY h.bin)
            FROM histogram AS h
        ),
        'excluded', pg_catalog.jsonb_build_object(
            'confidence_score', CASE WHEN t.bad_confidence >= $10 THEN t.bad_confidence END,
            'processing_time_ms', CASE WHEN t.bad_time >= $10 THEN t.bad_time END,
            'timestamp', CASE WHEN t.untimed >= $10 THEN t.untimed END
        ),
        'suppressed', pg_catalog.jsonb_build_object(
            'by_mode', (SELECT count(*) FROM grouped AS g WHERE g.is_mode AND g.total < $10),
            'by_intent', (SELECT count(*) FROM grouped AS g WHERE g.is_intent AND g.total < $10),
            'by_intent_category', (SELECT count(*) FROM grouped AS g WHERE g.is_category AND g.total < $10),
            'escalations_by_trigger', (SELECT count(*) FROM triggers AS tr WHERE tr.n < $10),
            'timeseries', (SELECT count(*) FROM grouped AS g
                           WHERE g.is_bucket AND g.bucket IS NOT NULL AND g.total < $10),
            'confidence_histogram', (SELECT count(*) FROM histogram AS h WHERE h.total < $10),
            'sessions', CASE WHEN s.total < $10 THEN 1 ELSE 0 END
        )
    )
    FROM totals AS t
    CROSS JOIN sessions AS s
    CROSS JOIN percentiles AS pc
    $query$,
        v_last,
        v_whole,
        v_groups,
        assistant_db.rollup_select('hours', v_edge_rows, v_key),
        assistant_db.rollup_select('times', v_edge_rows, v_key),
        assistant_db.rollup_select('sessions', v_edge_rows, v_key),
        assistant_db.rollup_select('triggers', v_edge_escalations, v_key))
        INTO v_result
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon, v_edges, v_k;

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
    'Whole hours are read from the rollups (migration 011), the window''s edge hours from the rows; '
    'percentiles from a histogram within 0.75 %. '
    'For the public key: only while assistant_db.set_public_metrics(true), whole-hour windows, groups of '
    'fewer than 10 rows suppressed.';

REVOKE ALL ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    TO anon, authenticated, service_role;

-- Migration 005's six-argument function is this one in UTC (pasting 005 again brings
-- back its computation over raw rows: the same answers, at the old cost).
CREATE OR REPLACE FUNCTION public.interaction_metrics(
    p_mode text DEFAULT NULL,
    p_from timestamptz DEFAULT NULL,
    p_to timestamptz DEFAULT NULL,
    p_intent text DEFAULT NULL,
    p_category text DEFAULT NULL,
    p_bucket text DEFAULT 'day'
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT public.interaction_metrics_tz(p_mode, p_from, p_to, p_intent, p_category, p_bucket, 'UTC')
$$;

REVOKE ALL ON FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.interaction_metrics(text, timestamptz, timestamptz, text, text, text)
    TO anon, authenticated, service_role;

-- Grants of the rest: the owner's functions, two for the table owner's tools.
REVOKE ALL ON FUNCTION
    assistant_db.time_bucket(integer),
    assistant_db.time_bucket_value(smallint),
    assistant_db.rollup_select(text, text, text),
    assistant_db.rollup_upsert_sql(text, text),
    assistant_db.rollup_delta_sql(text, text),
    assistant_db.rollup_sum_sql(text, text),
    assistant_db.rollup_nonzero(text),
    assistant_db.rollups_compact(),
    assistant_db.rollup_raw_source(timestamptz, timestamptz, boolean),
    assistant_db.rollup_hours_of(timestamptz, timestamptz),
    assistant_db.rollup_range(text, timestamptz, timestamptz),
    assistant_db.rollup_stored_sql(text, timestamptz, timestamptz),
    assistant_db.rollups_interactions_inserted(),
    assistant_db.rollups_interactions_deleted(),
    assistant_db.rollups_interactions_updated(),
    assistant_db.rollups_escalations_inserted(),
    assistant_db.rollups_escalations_deleted(),
    assistant_db.rollups_escalations_updated(),
    assistant_db.rollups_truncated(),
    public.rollups_check(timestamptz, timestamptz),
    public.rollups_rebuild(timestamptz, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION
    public.rollups_check(timestamptz, timestamptz),
    public.rollups_rebuild(timestamptz, timestamptz)
    TO service_role;

-- 7. The rollups of the rows already there, a month at a time. -------------------------------

DO $build$
DECLARE
    v_first timestamptz;
    v_last timestamptz;
    v_month timestamptz;
    v_table text;
    v_source text;
    v_rows bigint;
    v_done bigint := 0;
    v_started constant timestamptz := pg_catalog.clock_timestamp();
BEGIN
    -- Writers wait until the migration commits: their rows are counted by the triggers.
    PERFORM pg_catalog.pg_advisory_xact_lock(2026, 11);
    LOCK TABLE public.interactions, public.escalations IN SHARE MODE;
    DELETE FROM assistant_db.rollup_hours;
    DELETE FROM assistant_db.rollup_times;
    DELETE FROM assistant_db.rollup_sessions;
    DELETE FROM assistant_db.rollup_triggers;
    DELETE FROM assistant_db.rollup_hours_delta;
    DELETE FROM assistant_db.rollup_times_delta;
    DELETE FROM assistant_db.rollup_sessions_delta;
    DELETE FROM assistant_db.rollup_triggers_delta;
    SELECT pg_catalog.date_trunc('month', min(i."timestamp"), 'UTC'), max(i."timestamp")
    INTO v_first, v_last
    FROM public.interactions AS i
    WHERE pg_catalog.isfinite(i."timestamp");
    v_month := v_first;
    WHILE v_month <= v_last LOOP
        FOREACH v_table IN ARRAY ARRAY['hours', 'times', 'sessions', 'triggers'] LOOP
            EXECUTE assistant_db.rollup_upsert_sql(v_table, assistant_db.rollup_select(v_table,
                assistant_db.rollup_raw_source(v_month, v_month + interval '1 month', v_table = 'triggers')));
        END LOOP;
        SELECT count(*) INTO v_rows FROM public.interactions AS i
        WHERE i."timestamp" >= v_month AND i."timestamp" < v_month + interval '1 month';
        v_done := v_done + v_rows;
        RAISE NOTICE 'rollups: % interactions of % counted (% in all, % s)',
            v_rows, pg_catalog.to_char(v_month AT TIME ZONE 'UTC', 'YYYY-MM'), v_done,
            pg_catalog.round(EXTRACT(epoch FROM pg_catalog.clock_timestamp() - v_started)::numeric, 1);
        v_month := v_month + interval '1 month';
    END LOOP;
    -- Rows without a finite timestamp.
    FOREACH v_table IN ARRAY ARRAY['hours', 'times', 'sessions', 'triggers'] LOOP
        v_source := pg_catalog.replace(assistant_db.rollup_raw_source(NULL, NULL, v_table = 'triggers'),
            'WHERE true', 'WHERE i."timestamp" IS NULL OR NOT pg_catalog.isfinite(i."timestamp")');
        EXECUTE assistant_db.rollup_upsert_sql(v_table, assistant_db.rollup_select(v_table, v_source));
    END LOOP;
END
$build$;
