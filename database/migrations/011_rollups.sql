-- Rollups: the dashboard's cost grows with its window, not with the table's history.
--
-- After this migration:
--
--   * Tables in schema assistant_db hold the interactions summed per UTC hour ×
--     assistant_mode × intent_name × intent_category (a "group"):
--       rollup_hours     counts (all, resolved, escalated, each pipeline step), the
--                        confidence's count, sum and ten-bin histogram, the processing
--                        time's count and sum, the values the model refuses (confidence
--                        outside [0, 1] or NaN, negative time), and the sessions that
--                        begin in the group (see Sessions below); rollup_days holds the
--                        same per UTC day;
--       rollup_triggers  escalations per trigger_type (an escalation counts in the hour
--                        and group of its interaction; one without an interaction does
--                        not count, as in the raw computation);
--       rollup_times     the processing time's histogram per group and UTC hour, and per
--                        group and UTC day (`day` tells which): buckets of one
--                        millisecond below 128 ms, above that buckets 1.5 % wide, so a
--                        bucket's midpoint is within 0.75 % of every value in it. A
--                        histogram is one row: the buckets that hold values and their
--                        counts, as two arrays, so that a write changes one row per hour
--                        and group, not one per bucket.
--     And per mode, for windows without an intent or category filter, per UTC hour and
--     per UTC day: rollup_times_by_mode and rollup_triggers_by_mode.
--     A 30-day window of one mode with daily buckets in UTC reads one row per day and
--     group of rollup_days, one histogram per day, a few hundred rows of triggers and the
--     hours of its partial days, whatever the table holds.
--     `hour` is date_trunc('hour', "timestamp", 'UTC'); an infinite timestamp keeps its
--     infinity and a NULL one is the NULL hour (the keys are NULLS NOT DISTINCT).
--   * Sessions. A session (a session_id) counts in the window that holds its first
--     interaction (the earliest timestamp, then the smallest id; a NULL timestamp sorts
--     last) when that interaction passes the filters; it is "contained" when none of its
--     interactions is escalated. (Before this migration a session counted in every
--     window holding any of its interactions, and was contained when none of those was
--     escalated; that count cannot be summed from hours.) rollup_sessions keeps each
--     session's first interaction and whether it escalated, and rollup_hours counts them
--     per hour and group.
--   * Statement-level triggers with transition tables keep them exact, in the same
--     transaction as the write, whoever writes: log_interactions, the logger's COPY
--     path, PostgREST inserts of the spec's wrapper, the SQL editor. A replayed row that
--     ON CONFLICT DO NOTHING skips is in no transition table, so it counts once. UPDATE
--     moves a row's counts from its old values to its new ones; DELETE takes them away,
--     including the cascade to escalations (whose trigger fires after the
--     interactions', which sets the deleted rows' groups aside for it in a temporary
--     table emptied at commit) and retention. TRUNCATE empties them.
--   * Writers never wait for each other on the rollups. A trigger reads its transition
--     table once and appends the sums to delta tables (rollup_hours_delta, …; for
--     sessions, each one's first inserted row and whether one escalated, or, after a
--     DELETE or UPDATE, its id to recompute), which takes no lock another writer waits
--     for. The pending deltas are folded into the rollups after a statement of 1,000 rows
--     or more and after every 16th other statement (so that a fold gathers a logger's
--     small batches), the sessions' deltas also after a DELETE or UPDATE of interactions
--     (an erasure leaves no session id behind), by whoever gets
--     pg_try_advisory_xact_lock(2026, 11) (READ COMMITTED only); the others go on
--     without. Shared counters updated in place would make concurrent writers on the same
--     hours wait for each other until commit, and deadlock whenever a transaction writes
--     several statements (the importer's pipelined transactions, erasures). Readers add
--     the pending deltas (and work out the pending sessions the way the fold will), so
--     what they see is exact at every moment. A group whose counts fall to zero is
--     deleted by the fold, and an erased session's row with it.
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
--   * assistant_db.interaction_metrics_raw is the computation over raw rows (migration
--     010's, with the sessions counted as above), kept for comparison (`assistant-db
--     rollups check`, the tests, the scale benchmark).
--   * public.rollups_check(from, to) compares the rollups of the hours in [from, to) with
--     the raw rows, without stopping writers; public.rollups_rebuild(from, to) replaces
--     them (writers wait meanwhile). NULL bounds mean the whole table. Both are for the
--     table owner (service_role and the owner).
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
    sessions bigint NOT NULL,
    sessions_contained bigint NOT NULL,
    CONSTRAINT rollup_hours_key
        UNIQUE NULLS NOT DISTINCT (assistant_mode, hour, intent_name, intent_category)
);

-- rollup_hours summed per UTC day (`day`, its first instant; finite days only): what a
-- window of whole days reads when its buckets are days or weeks that days fit in.
CREATE TABLE IF NOT EXISTS assistant_db.rollup_days (
    day timestamptz,
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
    sessions bigint NOT NULL,
    sessions_contained bigint NOT NULL,
    CONSTRAINT rollup_days_key
        UNIQUE NULLS NOT DISTINCT (assistant_mode, day, intent_name, intent_category)
);

-- A histogram is two arrays: the buckets that hold values, ascending, and their counts.
CREATE TABLE IF NOT EXISTS assistant_db.rollup_times (
    day boolean NOT NULL,
    at timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    buckets smallint[] NOT NULL,
    counts bigint[] NOT NULL,
    CONSTRAINT rollup_times_key
        UNIQUE NULLS NOT DISTINCT (assistant_mode, intent_name, day, at, intent_category)
);
CREATE INDEX IF NOT EXISTS rollup_times_category
    ON assistant_db.rollup_times (assistant_mode, intent_category, day, at);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_triggers (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    trigger_type text NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT rollup_triggers_key
        UNIQUE NULLS NOT DISTINCT (assistant_mode, intent_name, hour, intent_category, trigger_type)
);
CREATE INDEX IF NOT EXISTS rollup_triggers_category
    ON assistant_db.rollup_triggers (assistant_mode, intent_category, hour);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_times_by_mode (
    day boolean NOT NULL,
    at timestamptz,
    assistant_mode text NOT NULL,
    buckets smallint[] NOT NULL,
    counts bigint[] NOT NULL,
    CONSTRAINT rollup_times_by_mode_key UNIQUE NULLS NOT DISTINCT (assistant_mode, day, at)
);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_triggers_by_mode (
    day boolean NOT NULL,
    at timestamptz,
    assistant_mode text NOT NULL,
    trigger_type text NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT rollup_triggers_by_mode_key UNIQUE NULLS NOT DISTINCT (assistant_mode, day, at, trigger_type)
);

CREATE TABLE IF NOT EXISTS assistant_db.rollup_sessions (
    session_id text PRIMARY KEY,
    first_id uuid NOT NULL,
    first_at timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    escalated boolean NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS assistant_db.rollup_writes AS bigint CYCLE;
COMMENT ON SEQUENCE assistant_db.rollup_writes IS
    'assistant-db rollups: counts writing statements; every 16th folds the deltas (see the triggers).';
REVOKE ALL ON SEQUENCE assistant_db.rollup_writes FROM PUBLIC, anon, authenticated, service_role;

COMMENT ON TABLE assistant_db.rollup_hours IS
    'assistant-db rollups: interactions per UTC hour, mode, intent and category (migration 011).';
COMMENT ON TABLE assistant_db.rollup_days IS
    'assistant-db rollups: rollup_hours summed per UTC day (migration 011).';
COMMENT ON TABLE assistant_db.rollup_times IS
    'assistant-db rollups: processing-time histogram per hour and group (assistant_db.time_bucket).';
COMMENT ON TABLE assistant_db.rollup_triggers IS
    'assistant-db rollups: escalations per trigger_type, in the hour and group of their interaction.';
COMMENT ON TABLE assistant_db.rollup_times_by_mode IS
    'assistant-db rollups: rollup_times summed per mode and UTC hour (day = false) or UTC day (day = true).';
COMMENT ON TABLE assistant_db.rollup_triggers_by_mode IS
    'assistant-db rollups: rollup_triggers summed per mode and UTC hour (day = false) or UTC day (day = true).';
COMMENT ON TABLE assistant_db.rollup_sessions IS
    'assistant-db rollups: each session''s first interaction and whether any of its interactions escalated.';

-- What writers add, until the fold moves it into the tables above: the hours' columns, a
-- histogram per hour and group, escalations per hour, group and trigger; no key,
-- appended to only.
CREATE TABLE IF NOT EXISTS assistant_db.rollup_hours_delta (LIKE assistant_db.rollup_hours);
CREATE TABLE IF NOT EXISTS assistant_db.rollup_times_delta (
    hour timestamptz,
    assistant_mode text NOT NULL,
    intent_name text,
    intent_category text,
    buckets smallint[] NOT NULL,
    counts bigint[] NOT NULL
);
CREATE TABLE IF NOT EXISTS assistant_db.rollup_triggers_delta (LIKE assistant_db.rollup_triggers);
-- A session's delta is what a statement's inserted rows say of it (their first row and
-- whether any escalated), merged into the kept state by the fold; or, after a DELETE or
-- UPDATE (recompute), only its id: the fold recomputes it from its rows.
CREATE TABLE IF NOT EXISTS assistant_db.rollup_sessions_delta (
    session_id text NOT NULL,
    recompute boolean NOT NULL,
    first_id uuid,
    first_at timestamptz,
    assistant_mode text,
    intent_name text,
    intent_category text,
    escalated boolean
);
COMMENT ON TABLE assistant_db.rollup_hours_delta IS
    'assistant-db rollups: changes to rollup_hours not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_times_delta IS
    'assistant-db rollups: changes to rollup_times not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_triggers_delta IS
    'assistant-db rollups: changes to rollup_triggers not folded in yet (assistant_db.rollups_compact).';
COMMENT ON TABLE assistant_db.rollup_sessions_delta IS
    'assistant-db rollups: sessions written to since the last fold (assistant_db.rollups_compact).';

DO $grants$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['rollup_hours', 'rollup_days', 'rollup_times', 'rollup_triggers',
                                   'rollup_times_by_mode', 'rollup_triggers_by_mode',
                                   'rollup_sessions', 'rollup_hours_delta', 'rollup_times_delta',
                                   'rollup_triggers_delta', 'rollup_sessions_delta'] LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON assistant_db.%I FROM PUBLIC, anon, authenticated, service_role',
                                  v_table);
        -- No policy: only the owner (whose functions maintain and read them) sees a row.
        EXECUTE pg_catalog.format('ALTER TABLE assistant_db.%I ENABLE ROW LEVEL SECURITY', v_table);
    END LOOP;
END
$grants$;

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

-- assistant_db.time_bucket as an expression over `p_ms`, for the statements generated
-- below (a function call per row would cost more than the rest of the statement).
CREATE OR REPLACE FUNCTION assistant_db.time_bucket_sql(p_ms text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        '(CASE WHEN %1$s < 128 THEN %1$s ELSE 128 + pg_catalog.floor(pg_catalog.ln(%1$s::double precision / 128) '
        '/ pg_catalog.ln(1.015)) END)::smallint', p_ms)
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
--    source of the rows (a query giving `sign` and the interaction's columns; for the
--    hours also `first_turn` and `session_escalated`, for the triggers `trigger_type`)
--    and the expression of their time key over `s`. The triggers, the rebuild, the check
--    and the metrics' edges all use these, so the rollups cannot disagree with what they
--    are compared with.

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
                                     THEN s.sign * s.processing_time_ms END), 0)::numeric AS time_sum,
                   sum(CASE WHEN s.processing_time_ms < 0 THEN s.sign ELSE 0 END) AS time_bad,
                   sum(CASE WHEN s.first_turn THEN s.sign ELSE 0 END) AS sessions,
                   sum(CASE WHEN s.first_turn AND NOT s.session_escalated THEN s.sign ELSE 0 END)
                       AS sessions_contained
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
            SELECT b.key, b.assistant_mode, b.intent_name, b.intent_category,
                   array_agg(b.bucket ORDER BY b.bucket) AS buckets,
                   array_agg(b.n ORDER BY b.bucket)::bigint[] AS counts
            FROM (SELECT %1$s, %4$s AS bucket, sum(s.sign) AS n
                  FROM (%2$s) AS s
                  WHERE s.processing_time_ms >= 0
                  GROUP BY %1$s, 5
                  HAVING sum(s.sign) <> 0) AS b
            GROUP BY 1, 2, 3, 4
            $q$, v_group, v_rows, NULL, assistant_db.time_bucket_sql('s.processing_time_ms'));
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
-- 'counts' is the hours without their sessions (what the raw rows alone give).
CREATE OR REPLACE FUNCTION assistant_db.rollup_nonzero(p_table text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_table IN ('hours', 'days') THEN
            'NOT (d.total = 0 AND d.resolved = 0 AND d.escalated = 0 AND d.step_1 = 0 '
            'AND d.step_2 = 0 AND d.step_3 = 0 AND d.step_4 = 0 AND d.step_5 = 0 AND d.step_6 = 0 '
            'AND d.confidence_n = 0 AND d.confidence_sum = 0 AND d.confidence_bad = 0 '
            'AND d.confidence_bins = ''{0,0,0,0,0,0,0,0,0,0}'' AND d.time_n = 0 AND d.time_sum = 0 '
            'AND d.time_bad = 0 AND d.sessions = 0 AND d.sessions_contained = 0)'
        WHEN p_table = 'counts' THEN
            'NOT (d.total = 0 AND d.resolved = 0 AND d.escalated = 0 AND d.step_1 = 0 '
            'AND d.step_2 = 0 AND d.step_3 = 0 AND d.step_4 = 0 AND d.step_5 = 0 AND d.step_6 = 0 '
            'AND d.confidence_n = 0 AND d.confidence_sum = 0 AND d.confidence_bad = 0 '
            'AND d.confidence_bins = ''{0,0,0,0,0,0,0,0,0,0}'' AND d.time_n = 0 AND d.time_sum = 0 '
            'AND d.time_bad = 0)'
        WHEN p_table = 'times' THEN 'true'
        ELSE 'd.n <> 0'
    END
$$;

-- The statement that adds the rows of `p_select` (a rollup_select, or sums of deltas) to
-- one rollup table. Only the fold, the rebuild and this migration run it, one at a time
-- (see rollups_compact).
CREATE OR REPLACE FUNCTION assistant_db.rollup_upsert_sql(p_table text, p_select text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_sets text;
BEGIN
    CASE
    WHEN p_table IN ('hours', 'days') THEN
        v_sets := 'total = r.total + EXCLUDED.total, resolved = r.resolved + EXCLUDED.resolved, '
            'escalated = r.escalated + EXCLUDED.escalated, step_1 = r.step_1 + EXCLUDED.step_1, '
            'step_2 = r.step_2 + EXCLUDED.step_2, step_3 = r.step_3 + EXCLUDED.step_3, '
            'step_4 = r.step_4 + EXCLUDED.step_4, step_5 = r.step_5 + EXCLUDED.step_5, '
            'step_6 = r.step_6 + EXCLUDED.step_6, confidence_n = r.confidence_n + EXCLUDED.confidence_n, '
            'confidence_sum = r.confidence_sum + EXCLUDED.confidence_sum, '
            'confidence_bad = r.confidence_bad + EXCLUDED.confidence_bad, '
            'confidence_bins = ARRAY[r.confidence_bins[1] + EXCLUDED.confidence_bins[1], '
            'r.confidence_bins[2] + EXCLUDED.confidence_bins[2], r.confidence_bins[3] + EXCLUDED.confidence_bins[3], '
            'r.confidence_bins[4] + EXCLUDED.confidence_bins[4], r.confidence_bins[5] + EXCLUDED.confidence_bins[5], '
            'r.confidence_bins[6] + EXCLUDED.confidence_bins[6], r.confidence_bins[7] + EXCLUDED.confidence_bins[7], '
            'r.confidence_bins[8] + EXCLUDED.confidence_bins[8], r.confidence_bins[9] + EXCLUDED.confidence_bins[9], '
            'r.confidence_bins[10] + EXCLUDED.confidence_bins[10]], '
            'time_n = r.time_n + EXCLUDED.time_n, '
            'time_sum = r.time_sum + EXCLUDED.time_sum, time_bad = r.time_bad + EXCLUDED.time_bad, '
            'sessions = r.sessions + EXCLUDED.sessions, '
            'sessions_contained = r.sessions_contained + EXCLUDED.sessions_contained';
    ELSE
        v_sets := 'n = r.n + EXCLUDED.n';
    END CASE;
    RETURN pg_catalog.format(
        'INSERT INTO assistant_db.rollup_%1$s AS r SELECT * FROM (%2$s) AS d WHERE %3$s '
        'ON CONFLICT ON CONSTRAINT rollup_%1$s_key DO UPDATE SET %4$s',
        p_table, p_select, assistant_db.rollup_nonzero(p_table), v_sets);
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

-- The rows of one table (or its deltas) summed per group; 'days': rows of rollup_hours
-- (finite hours) summed per UTC day.
CREATE OR REPLACE FUNCTION assistant_db.rollup_sum_sql(p_table text, p_from text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT %s, m.assistant_mode, m.intent_name, m.intent_category, %s '
                             'FROM (%s) AS m GROUP BY 1, 2, 3, 4%s',
        CASE p_table WHEN 'days' THEN 'pg_catalog.date_trunc(''day'', m.hour, ''UTC'')' ELSE 'm.hour' END,
        CASE
            WHEN p_table IN ('hours', 'days') THEN
                'sum(m.total) AS total, sum(m.resolved) AS resolved, sum(m.escalated) AS escalated, '
                'sum(m.step_1) AS step_1, sum(m.step_2) AS step_2, sum(m.step_3) AS step_3, '
                'sum(m.step_4) AS step_4, sum(m.step_5) AS step_5, sum(m.step_6) AS step_6, '
                'sum(m.confidence_n) AS confidence_n, sum(m.confidence_sum) AS confidence_sum, '
                'sum(m.confidence_bad) AS confidence_bad, ARRAY[sum(m.confidence_bins[1]), '
                'sum(m.confidence_bins[2]), sum(m.confidence_bins[3]), sum(m.confidence_bins[4]), '
                'sum(m.confidence_bins[5]), sum(m.confidence_bins[6]), sum(m.confidence_bins[7]), '
                'sum(m.confidence_bins[8]), sum(m.confidence_bins[9]), sum(m.confidence_bins[10])]::bigint[] '
                'AS confidence_bins, sum(m.time_n) AS time_n, sum(m.time_sum) AS time_sum, '
                'sum(m.time_bad) AS time_bad, sum(m.sessions) AS sessions, '
                'sum(m.sessions_contained) AS sessions_contained'
            ELSE 'm.trigger_type, sum(m.n) AS n'
        END,
        p_from,
        CASE WHEN p_table IN ('hours', 'days') THEN '' ELSE ', 5' END)
$$;

-- The per-mode rows (hour and day) that rollup_triggers rows (`p_rows`) sum to.
CREATE OR REPLACE FUNCTION assistant_db.rollup_by_mode_sql(p_rows text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'SELECT false AS day, m.hour AS at, m.assistant_mode, m.trigger_type, sum(m.n) AS n '
        'FROM (%1$s) AS m GROUP BY 2, 3, 4 HAVING sum(m.n) <> 0 '
        'UNION ALL '
        'SELECT true, pg_catalog.date_trunc(''day'', m.hour, ''UTC''), m.assistant_mode, m.trigger_type, sum(m.n) '
        'FROM (%1$s) AS m WHERE pg_catalog.isfinite(m.hour) GROUP BY 2, 3, 4 HAVING sum(m.n) <> 0',
        p_rows)
$$;

-- Two histograms added: the buckets of either, ascending, with the sums of their counts
-- (a bucket whose sum is zero is left out).
CREATE OR REPLACE FUNCTION assistant_db.histogram_merge(
    p_buckets smallint[], p_counts bigint[], q_buckets smallint[], q_counts bigint[],
    OUT buckets smallint[], OUT counts bigint[])
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(x.b ORDER BY x.b), '{}'), coalesce(array_agg(x.n ORDER BY x.b), '{}')
    FROM (SELECT u.b, sum(u.n)::bigint AS n
          FROM (SELECT * FROM ROWS FROM (pg_catalog.unnest(p_buckets), pg_catalog.unnest(p_counts)) AS a(b, n)
                UNION ALL
                SELECT * FROM ROWS FROM (pg_catalog.unnest(q_buckets), pg_catalog.unnest(q_counts)) AS c(b, n)) AS u
          GROUP BY u.b
          HAVING sum(u.n) <> 0) AS x
$$;

-- Histogram rows (`p_rows`: an hour, a mode, an intent, a category, buckets and counts)
-- as one row per bucket: hour, assistant_mode, intent_name, intent_category, b, n.
CREATE OR REPLACE FUNCTION assistant_db.histogram_flat_sql(p_rows text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'SELECT m.hour, m.assistant_mode, m.intent_name, m.intent_category, u.b, u.n '
        'FROM (%s) AS m CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(m.buckets), pg_catalog.unnest(m.counts)) AS u(b, n)',
        p_rows)
$$;

-- The statement that adds per-bucket counts (`p_flat`: hour, assistant_mode,
-- intent_name, intent_category, b, n) to rollup_times and rollup_times_by_mode, in their
-- hour and day rows (only the day rows when not p_hours); it gives the rows left empty,
-- to delete. `p_with`: common table expressions p_flat uses, each followed by a comma.
CREATE OR REPLACE FUNCTION assistant_db.histogram_add_sql(p_with text, p_flat text, p_hours boolean DEFAULT true)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format($q$
        WITH %s flat AS MATERIALIZED (%s),
        levels AS MATERIALIZED (
            SELECT false AS day, f.hour AS at, f.assistant_mode, f.intent_name, f.intent_category, f.b,
                   sum(f.n) AS n
            FROM flat AS f WHERE %s GROUP BY 2, 3, 4, 5, 6
            UNION ALL
            SELECT true, pg_catalog.date_trunc('day', f.hour, 'UTC'), f.assistant_mode, f.intent_name,
                   f.intent_category, f.b, sum(f.n)
            FROM flat AS f WHERE pg_catalog.isfinite(f.hour) GROUP BY 2, 3, 4, 5, 6),
        up AS (
            INSERT INTO assistant_db.rollup_times AS r
            SELECT l.day, l.at, l.assistant_mode, l.intent_name, l.intent_category,
                   array_agg(l.b ORDER BY l.b), array_agg(l.n ORDER BY l.b)::bigint[]
            FROM levels AS l WHERE l.n <> 0 GROUP BY 1, 2, 3, 4, 5
            ON CONFLICT ON CONSTRAINT rollup_times_key DO UPDATE SET (buckets, counts) =
                (SELECT h.buckets, h.counts
                 FROM assistant_db.histogram_merge(r.buckets, r.counts, EXCLUDED.buckets, EXCLUDED.counts) AS h)
            RETURNING r.ctid AS at, r.counts),
        up_by_mode AS (
            INSERT INTO assistant_db.rollup_times_by_mode AS r
            SELECT x.day, x.at, x.assistant_mode, array_agg(x.b ORDER BY x.b), array_agg(x.n ORDER BY x.b)::bigint[]
            FROM (SELECT l.day, l.at, l.assistant_mode, l.b, sum(l.n) AS n FROM levels AS l
                  GROUP BY 1, 2, 3, 4 HAVING sum(l.n) <> 0) AS x
            GROUP BY 1, 2, 3
            ON CONFLICT ON CONSTRAINT rollup_times_by_mode_key DO UPDATE SET (buckets, counts) =
                (SELECT h.buckets, h.counts
                 FROM assistant_db.histogram_merge(r.buckets, r.counts, EXCLUDED.buckets, EXCLUDED.counts) AS h)
            RETURNING r.ctid AS at, r.counts)
        SELECT (SELECT array_agg(u.at) FROM up AS u WHERE pg_catalog.cardinality(u.counts) = 0),
               (SELECT array_agg(b.at) FROM up_by_mode AS b WHERE pg_catalog.cardinality(b.counts) = 0)
        $q$, p_with, p_flat, CASE WHEN p_hours THEN 'true' ELSE 'false' END)
$$;

-- Sessions: the truth about the sessions whose ids `p_ids` gives (a query of a column
-- `session_id`), from their rows: the first interaction and whether any escalated.
-- Sessions without rows any more are not in it.
CREATE OR REPLACE FUNCTION assistant_db.rollup_sessions_truth_sql(p_ids text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'SELECT t.session_id, f.id AS first_id, f."timestamp" AS first_at, f.assistant_mode, '
        '       f.intent_name, f.intent_category, '
        '       EXISTS (SELECT FROM public.interactions AS x '
        '               WHERE x.session_id = t.session_id AND x.outcome = ''escalated'') AS escalated '
        'FROM (%s) AS t '
        'CROSS JOIN LATERAL (SELECT i.id, i."timestamp", i.assistant_mode, i.intent_name, i.intent_category '
        '                    FROM public.interactions AS i WHERE i.session_id = t.session_id '
        '                    ORDER BY i."timestamp", i.id LIMIT 1) AS f', p_ids)
$$;

-- The state of every session that the deltas (common table expressions `deltas`, rows of
-- rollup_sessions_delta, and `redo`, the ids to recompute: rollup_sessions_with_sql)
-- speak of, as the fold will make it: the kept state merged with inserted rows' deltas
-- (the earlier first row wins; escalated if either is), or recomputed from the rows when
-- a delta asks for it. Sessions without rows any more are not in it.
CREATE OR REPLACE FUNCTION assistant_db.rollup_sessions_next_sql()
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format($q$
        SELECT * FROM (
            SELECT DISTINCT ON (c.session_id) c.session_id, c.first_id, c.first_at, c.assistant_mode,
                   c.intent_name, c.intent_category, bool_or(c.escalated) OVER (PARTITION BY c.session_id) AS escalated
            FROM (SELECT d.session_id, d.first_id, d.first_at, d.assistant_mode, d.intent_name,
                         d.intent_category, d.escalated
                  FROM deltas AS d WHERE NOT d.recompute AND d.session_id NOT IN (SELECT r.session_id FROM redo AS r)
                  UNION ALL
                  SELECT s.session_id, s.first_id, s.first_at, s.assistant_mode, s.intent_name,
                         s.intent_category, s.escalated
                  FROM assistant_db.rollup_sessions AS s
                  WHERE s.session_id IN (SELECT d.session_id FROM deltas AS d WHERE NOT d.recompute)
                    AND s.session_id NOT IN (SELECT r.session_id FROM redo AS r)) AS c
            ORDER BY c.session_id, c.first_at, c.first_id) AS merged
        UNION ALL
        %s
        $q$, assistant_db.rollup_sessions_truth_sql('SELECT * FROM redo'))
$$;

-- The common table expressions rollup_sessions_next_sql reads: `deltas` and `redo`.
CREATE OR REPLACE FUNCTION assistant_db.rollup_sessions_with_sql(p_deltas text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'deltas AS MATERIALIZED (%s), '
        'redo AS MATERIALIZED (SELECT DISTINCT d.session_id FROM deltas AS d WHERE d.recompute), ', p_deltas)
$$;

-- Folds every delta this transaction can see into the rollups and deletes the groups that
-- fell to zero; p_sessions_only: only the sessions' deltas (what an erasure must not
-- leave behind; the rest can wait for the next fold). One fold at a time: the caller
-- holds the advisory lock (2026, 11); writers only try it and go on without when another
-- holds it, so no writer ever waits here.
DROP FUNCTION IF EXISTS assistant_db.rollups_compact();
CREATE OR REPLACE FUNCTION assistant_db.rollups_compact(p_sessions_only boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_zero tid[];
    v_zero_by_mode tid[];
BEGIN
    IF NOT p_sessions_only THEN
        EXECUTE pg_catalog.format(
            'WITH moved AS MATERIALIZED (DELETE FROM assistant_db.rollup_hours_delta RETURNING *), '
            'up AS (%s RETURNING r.ctid AS at, r.total, r.sessions, r.sessions_contained), '
            'up_days AS (%s RETURNING r.ctid AS at, r.total, r.sessions, r.sessions_contained) '
            'SELECT (SELECT array_agg(up.at) FILTER (WHERE up.total = 0 AND up.sessions = 0 '
            '                                        AND up.sessions_contained = 0) FROM up), '
            '       (SELECT array_agg(d.at) FILTER (WHERE d.total = 0 AND d.sessions = 0 '
            '                                       AND d.sessions_contained = 0) FROM up_days AS d)',
            assistant_db.rollup_upsert_sql('hours', assistant_db.rollup_sum_sql('hours', 'SELECT * FROM moved')),
            assistant_db.rollup_upsert_sql('days', assistant_db.rollup_sum_sql('days',
                'SELECT * FROM moved AS x WHERE pg_catalog.isfinite(x.hour)')))
            INTO v_zero, v_zero_by_mode;
        IF v_zero IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_hours WHERE ctid = ANY (v_zero);
        END IF;
        IF v_zero_by_mode IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_days WHERE ctid = ANY (v_zero_by_mode);
        END IF;

        EXECUTE assistant_db.histogram_add_sql(
                'moved AS (DELETE FROM assistant_db.rollup_times_delta RETURNING *), ',
                assistant_db.histogram_flat_sql('SELECT * FROM moved'))
            INTO v_zero, v_zero_by_mode;
        IF v_zero IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_times WHERE ctid = ANY (v_zero);
        END IF;
        IF v_zero_by_mode IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_times_by_mode WHERE ctid = ANY (v_zero_by_mode);
        END IF;

        EXECUTE pg_catalog.format(
            'WITH moved AS (DELETE FROM assistant_db.rollup_triggers_delta RETURNING *), '
            'sums AS MATERIALIZED (SELECT * FROM (%1$s) AS d WHERE d.n <> 0), '
            'up AS (INSERT INTO assistant_db.rollup_triggers AS r SELECT * FROM sums '
            '       ON CONFLICT ON CONSTRAINT rollup_triggers_key DO UPDATE SET n = r.n + EXCLUDED.n '
            '       RETURNING r.ctid AS at, r.n), '
            'up_by_mode AS (INSERT INTO assistant_db.rollup_triggers_by_mode AS r %2$s '
            '       ON CONFLICT ON CONSTRAINT rollup_triggers_by_mode_key DO UPDATE SET n = r.n + EXCLUDED.n '
            '       RETURNING r.ctid AS at, r.n) '
            'SELECT (SELECT array_agg(up.at) FROM up WHERE up.n = 0), '
            '       (SELECT array_agg(b.at) FROM up_by_mode AS b WHERE b.n = 0)',
            assistant_db.rollup_sum_sql('triggers', 'SELECT * FROM moved'),
            assistant_db.rollup_by_mode_sql('SELECT * FROM sums'))
            INTO v_zero, v_zero_by_mode;
        IF v_zero IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_triggers WHERE ctid = ANY (v_zero);
        END IF;
        IF v_zero_by_mode IS NOT NULL THEN
            DELETE FROM assistant_db.rollup_triggers_by_mode WHERE ctid = ANY (v_zero_by_mode);
        END IF;
    END IF;

    -- Sessions: each touched session gets its new state (one statement, so one snapshot
    -- of the rows and of the deltas taken), and the hours move its count from where it
    -- was to where it is.
    EXECUTE pg_catalog.format($q$
        WITH %s
        touched AS MATERIALIZED (SELECT DISTINCT d.session_id FROM deltas AS d),
        truth AS MATERIALIZED (%s),
        stored AS MATERIALIZED (
            SELECT s.* FROM assistant_db.rollup_sessions AS s JOIN touched AS t ON t.session_id = s.session_id),
        changes AS (
            SELECT -1 AS sign, s.first_at, s.assistant_mode, s.intent_name, s.intent_category, s.escalated
            FROM stored AS s
            WHERE NOT EXISTS (
                SELECT FROM truth AS t WHERE t.session_id = s.session_id
                AND (t.first_id, t.first_at, t.assistant_mode, t.intent_name, t.intent_category, t.escalated)
                    IS NOT DISTINCT FROM
                    (s.first_id, s.first_at, s.assistant_mode, s.intent_name, s.intent_category, s.escalated))
            UNION ALL
            SELECT 1, t.first_at, t.assistant_mode, t.intent_name, t.intent_category, t.escalated
            FROM truth AS t
            WHERE NOT EXISTS (
                SELECT FROM stored AS s WHERE s.session_id = t.session_id
                AND (t.first_id, t.first_at, t.assistant_mode, t.intent_name, t.intent_category, t.escalated)
                    IS NOT DISTINCT FROM
                    (s.first_id, s.first_at, s.assistant_mode, s.intent_name, s.intent_category, s.escalated))
        ),
        gone AS (
            DELETE FROM assistant_db.rollup_sessions AS s
            USING stored AS o
            WHERE s.session_id = o.session_id
              AND NOT EXISTS (SELECT FROM truth AS t WHERE t.session_id = o.session_id)),
        kept AS (
            INSERT INTO assistant_db.rollup_sessions AS s SELECT * FROM truth
            ON CONFLICT (session_id) DO UPDATE SET
                first_id = EXCLUDED.first_id, first_at = EXCLUDED.first_at,
                assistant_mode = EXCLUDED.assistant_mode, intent_name = EXCLUDED.intent_name,
                intent_category = EXCLUDED.intent_category, escalated = EXCLUDED.escalated
            WHERE (s.first_id, s.first_at, s.assistant_mode, s.intent_name, s.intent_category, s.escalated)
                  IS DISTINCT FROM (EXCLUDED.first_id, EXCLUDED.first_at, EXCLUDED.assistant_mode,
                                    EXCLUDED.intent_name, EXCLUDED.intent_category, EXCLUDED.escalated)),
        counts AS (
            INSERT INTO assistant_db.rollup_hours AS r
            SELECT pg_catalog.date_trunc('hour', c.first_at, 'UTC'), c.assistant_mode, c.intent_name,
                   c.intent_category, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{0,0,0,0,0,0,0,0,0,0}', 0, 0, 0,
                   sum(c.sign), sum(CASE WHEN NOT c.escalated THEN c.sign ELSE 0 END)
            FROM changes AS c
            GROUP BY 1, 2, 3, 4
            HAVING sum(c.sign) <> 0 OR sum(CASE WHEN NOT c.escalated THEN c.sign ELSE 0 END) <> 0
            ON CONFLICT ON CONSTRAINT rollup_hours_key DO UPDATE SET
                sessions = r.sessions + EXCLUDED.sessions,
                sessions_contained = r.sessions_contained + EXCLUDED.sessions_contained
            RETURNING r.ctid AS at, r.total, r.sessions, r.sessions_contained),
        counts_days AS (
            INSERT INTO assistant_db.rollup_days AS r
            SELECT pg_catalog.date_trunc('day', c.first_at, 'UTC'), c.assistant_mode, c.intent_name,
                   c.intent_category, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{0,0,0,0,0,0,0,0,0,0}', 0, 0, 0,
                   sum(c.sign), sum(CASE WHEN NOT c.escalated THEN c.sign ELSE 0 END)
            FROM changes AS c
            WHERE pg_catalog.isfinite(c.first_at)
            GROUP BY 1, 2, 3, 4
            HAVING sum(c.sign) <> 0 OR sum(CASE WHEN NOT c.escalated THEN c.sign ELSE 0 END) <> 0
            ON CONFLICT ON CONSTRAINT rollup_days_key DO UPDATE SET
                sessions = r.sessions + EXCLUDED.sessions,
                sessions_contained = r.sessions_contained + EXCLUDED.sessions_contained
            RETURNING r.ctid AS at, r.total, r.sessions, r.sessions_contained)
        SELECT (SELECT array_agg(c.at) FILTER (WHERE c.total = 0 AND c.sessions = 0 AND c.sessions_contained = 0)
                FROM counts AS c),
               (SELECT array_agg(c.at) FILTER (WHERE c.total = 0 AND c.sessions = 0 AND c.sessions_contained = 0)
                FROM counts_days AS c)
        $q$,
        assistant_db.rollup_sessions_with_sql('DELETE FROM assistant_db.rollup_sessions_delta RETURNING *'),
        assistant_db.rollup_sessions_next_sql())
        INTO v_zero, v_zero_by_mode;
    IF v_zero IS NOT NULL THEN
        DELETE FROM assistant_db.rollup_hours WHERE ctid = ANY (v_zero);
    END IF;
    IF v_zero_by_mode IS NOT NULL THEN
        DELETE FROM assistant_db.rollup_days WHERE ctid = ANY (v_zero_by_mode);
    END IF;
END;
$function$;

-- 4. The triggers, generated from the statements above so that each holds plain SQL
--    (planned once per session, not per statement).

-- The statement an interactions trigger runs: what the rows of `p_source` (narrow rows,
-- `sign` and the counted columns) contribute to the hours, times and (p_triggers) the
-- escalations of changed rows, appended to the deltas in one pass over the transition
-- table; `p_sessions` appends the sessions' deltas. It counts the source's rows.
CREATE OR REPLACE FUNCTION assistant_db.rollup_write_sql(p_source text, p_sessions text, p_triggers boolean)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'WITH src AS MATERIALIZED (%1$s), '
        'hours AS (INSERT INTO assistant_db.rollup_hours_delta SELECT * FROM (%2$s) AS d WHERE %3$s), '
        'times AS (INSERT INTO assistant_db.rollup_times_delta %4$s), '
        '%5$s'
        'sessions AS (%6$s) '
        'SELECT count(*) INTO v_rows FROM src;',
        p_source,
        assistant_db.rollup_select('hours', 'SELECT * FROM src'),
        assistant_db.rollup_nonzero('hours'),
        assistant_db.rollup_select('times', 'SELECT * FROM src'),
        CASE WHEN p_triggers THEN pg_catalog.format(
            'triggers AS (INSERT INTO assistant_db.rollup_triggers_delta SELECT * FROM (%s) AS d WHERE d.n <> 0), ',
            assistant_db.rollup_select('triggers',
                'SELECT c.*, e.trigger_type FROM src AS c JOIN public.escalations AS e ON e.interaction_id = c.id'))
        ELSE '' END,
        p_sessions)
$$;

DO $generate$
DECLARE
    -- The columns the rollups count, read once from the transition tables.
    v_columns constant text :=
        'id, "timestamp", assistant_mode, intent_name, intent_category, outcome, session_id, '
        'step_1_intent_completed, step_2_routing_decision, step_3_retrieval_performed, '
        'step_4_response_generated, step_5_confidence_score, step_6_escalation_triggered, '
        'confidence_score, processing_time_ms';
    v_n text;
    v_o text;
    v_inserted text;
    v_deleted text;
    -- Rows of an UPDATE whose counted columns changed: the old ones subtract, the new add.
    v_changed text;
    -- Sessions of inserted rows: their first row and whether any escalated, merged by the
    -- fold; of deleted or changed rows: recomputed by the fold from their rows.
    v_sessions_inserted constant text :=
        'INSERT INTO assistant_db.rollup_sessions_delta '
        'SELECT DISTINCT ON (s.session_id) s.session_id, false, s.id, s."timestamp", s.assistant_mode, '
        '       s.intent_name, s.intent_category, '
        '       bool_or(s.outcome = ''escalated'') OVER (PARTITION BY s.session_id ORDER BY s."timestamp", s.id '
        '                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) '
        'FROM src AS s WHERE s.session_id IS NOT NULL '
        'ORDER BY s.session_id, s."timestamp", s.id';
    v_sessions_recompute constant text :=
        'INSERT INTO assistant_db.rollup_sessions_delta (session_id, recompute) '
        'SELECT DISTINCT s.session_id, true FROM src AS s WHERE s.session_id IS NOT NULL';
    -- When to fold: after a statement of many rows and after every 16th other statement,
    -- so that a fold gathers the small statements of a logger; after a DELETE or UPDATE
    -- of interactions, the sessions at least (an erasure leaves no session id behind),
    -- which keeps retention's batches short; READ COMMITTED only (at REPEATABLE READ the
    -- fold could meet rows another fold changed after the snapshot); never waiting for
    -- another fold.
    v_fold constant text :=
        ' IF pg_catalog.current_setting(''transaction_isolation'') = ''read committed'' THEN '
        'IF v_rows >= 1000 OR pg_catalog.nextval(''assistant_db.rollup_writes'') %% 16 = 0 THEN '
        'IF pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN PERFORM assistant_db.rollups_compact(); END IF; '
        'ELSIF %s AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN '
        'PERFORM assistant_db.rollups_compact(true); END IF; END IF; RETURN NULL; END;';
    v_body text;
BEGIN
    SELECT pg_catalog.string_agg('n.' || pg_catalog.btrim(c), ', '),
           pg_catalog.string_agg('o.' || pg_catalog.btrim(c), ', ')
    INTO v_n, v_o
    FROM pg_catalog.unnest(pg_catalog.string_to_array(v_columns, ',')) AS c;
    v_inserted := 'SELECT 1 AS sign, ' || v_n
        || ', false AS first_turn, false AS session_escalated FROM new_rows AS n';
    v_deleted := 'SELECT -1 AS sign, ' || v_o
        || ', false AS first_turn, false AS session_escalated FROM old_rows AS o';
    v_changed := pg_catalog.format(
        'SELECT -1 AS sign, %1$s, false AS first_turn, false AS session_escalated '
        'FROM old_rows AS o WHERE NOT EXISTS (SELECT FROM new_rows AS n '
        'WHERE n.id = o.id AND (%2$s) IS NOT DISTINCT FROM (%1$s)) '
        'UNION ALL SELECT 1 AS sign, %2$s, false, false FROM new_rows AS n WHERE NOT EXISTS (SELECT FROM old_rows AS o '
        'WHERE o.id = n.id AND (%2$s) IS NOT DISTINCT FROM (%1$s))',
        v_o, v_n);

    -- Statement-level triggers: interactions and escalations, INSERT, DELETE, UPDATE. Each
    -- appends its deltas, then may fold what is pending into the rollups (v_fold).
    FOR v_body IN
        SELECT pg_catalog.format(
            'CREATE OR REPLACE FUNCTION assistant_db.%s() RETURNS trigger LANGUAGE plpgsql '
            'SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS %L',
            f.name, 'DECLARE v_rows bigint := 0; BEGIN ' || f.body
                    || pg_catalog.format(v_fold, CASE WHEN f.name IN ('rollups_interactions_deleted',
                                                                       'rollups_interactions_updated')
                                                      THEN 'true' ELSE 'false' END))
        FROM (VALUES
            ('rollups_interactions_inserted',
             assistant_db.rollup_write_sql(v_inserted, v_sessions_inserted, false)),
            -- The cascade deletes the escalations of the deleted interactions, and their
            -- trigger fires after this one, when the interactions are gone: this one sets
            -- their groups aside for it, in a temporary table emptied at commit and by
            -- the next such statement. (The tests' rollups_check would show it if
            -- PostgreSQL changed that order.)
            ('rollups_interactions_deleted',
             assistant_db.rollup_write_sql(v_deleted, v_sessions_recompute, false)
             || ' IF pg_catalog.to_regclass(''pg_temp.rollup_deleted'') IS NULL THEN '
                'CREATE TEMPORARY TABLE rollup_deleted (id uuid NOT NULL, "timestamp" timestamptz, '
                'assistant_mode text NOT NULL, intent_name text, intent_category text, '
                'confidence_score double precision) ON COMMIT DELETE ROWS; END IF; '
                'DELETE FROM pg_temp.rollup_deleted; '
                'INSERT INTO pg_temp.rollup_deleted SELECT o.id, o."timestamp", o.assistant_mode, '
                'o.intent_name, o.intent_category, NULL FROM old_rows AS o;'),
            ('rollups_interactions_updated',
             assistant_db.rollup_write_sql(v_changed, v_sessions_recompute, true)),
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
        DELETE FROM assistant_db.rollup_days;
        DELETE FROM assistant_db.rollup_times;
        DELETE FROM assistant_db.rollup_times_by_mode;
        DELETE FROM assistant_db.rollup_sessions;
        DELETE FROM assistant_db.rollup_hours_delta;
        DELETE FROM assistant_db.rollup_times_delta;
        DELETE FROM assistant_db.rollup_sessions_delta;
    END IF;
    DELETE FROM assistant_db.rollup_triggers;
    DELETE FROM assistant_db.rollup_triggers_by_mode;
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

-- The condition "`p_column` is in [p_from, p_to)": a NULL bound is no bound, and with
-- both NULL the NULL time is in too. p_rest: the NULL and infinite times instead.
CREATE OR REPLACE FUNCTION assistant_db.rollup_in(
    p_column text, p_from timestamptz, p_to timestamptz, p_rest boolean DEFAULT false)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_rest THEN pg_catalog.format('(%1$s IS NULL OR NOT pg_catalog.isfinite(%1$s))', p_column)
                WHEN p_from IS NULL AND p_to IS NULL THEN 'true'
                ELSE pg_catalog.format('(%1$s >= %2$L AND %1$s %3$s %4$L)', p_column,
                         coalesce(p_from, '-infinity'),
                         CASE WHEN p_to IS NULL THEN '<=' ELSE '<' END,
                         coalesce(p_to, 'infinity'))
           END
$$;

-- The raw rows whose timestamp is `p_in` (a rollup_in condition over i."timestamp"), as
-- a rollup source (their sessions are the fold's business, not the rows').
CREATE OR REPLACE FUNCTION assistant_db.rollup_raw_source(p_in text, p_triggers boolean)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format(
        'SELECT 1 AS sign, i.*, false AS first_turn, false AS session_escalated%s '
        'FROM public.interactions AS i%s WHERE %s',
        CASE WHEN p_triggers THEN ', e.trigger_type' ELSE '' END,
        CASE WHEN p_triggers THEN ' JOIN public.escalations AS e ON e.interaction_id = i.id' ELSE '' END,
        p_in)
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

-- [p_from, p_to) widened to whole UTC days (24 hours each).
CREATE OR REPLACE FUNCTION assistant_db.rollup_days_of(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (from_day timestamptz, to_day timestamptz)
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.isfinite(p_from) THEN pg_catalog.date_trunc('day', p_from, 'UTC') ELSE p_from END,
           CASE WHEN p_to IS NULL OR NOT pg_catalog.isfinite(p_to) THEN p_to
                ELSE pg_catalog.date_trunc('day', p_to - interval '1 microsecond', 'UTC') + interval '24 hours' END
$$;

-- Replaces the rollups of the hours in [p_from, p_to) (p_rest: of the NULL and infinite
-- hours) by what the raw rows give, and recomputes the sessions that begin there or have
-- rows there. The hours are emptied, the day rows of their days are summed again from the
-- hours left, and the raw rows go through the deltas and the fold like any write. The
-- caller holds writers and the fold's lock, and has folded.
CREATE OR REPLACE FUNCTION assistant_db.rollups_build(
    p_from timestamptz, p_to timestamptz, p_rest boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_rows bigint;
    v_day_from timestamptz;
    v_day_to timestamptz;
    v_raw text;
    v_at text;
    v_days text;
    v_zero tid[];
    v_zero_by_mode tid[];
BEGIN
    SELECT d.from_day, d.to_day INTO v_day_from, v_day_to FROM assistant_db.rollup_days_of(p_from, p_to) AS d;
    v_raw := assistant_db.rollup_in('i."timestamp"', p_from, p_to, p_rest);
    v_at := assistant_db.rollup_in('r.at', p_from, p_to, p_rest);
    v_days := CASE WHEN p_rest THEN 'false' ELSE assistant_db.rollup_in('r.at', v_day_from, v_day_to) END;

    -- The sessions counted in these hours lose their counts with the hours; the fold
    -- below counts them again where they begin, with those that have rows here.
    EXECUTE 'INSERT INTO assistant_db.rollup_sessions_delta (session_id, recompute) SELECT s.session_id, true '
            'FROM assistant_db.rollup_sessions AS s WHERE '
            || assistant_db.rollup_in('s.first_at', p_from, p_to, p_rest);
    EXECUTE 'DELETE FROM assistant_db.rollup_sessions AS s WHERE '
            || assistant_db.rollup_in('s.first_at', p_from, p_to, p_rest);
    EXECUTE 'INSERT INTO assistant_db.rollup_sessions_delta (session_id, recompute) SELECT DISTINCT i.session_id, true '
            'FROM public.interactions AS i WHERE i.session_id IS NOT NULL AND ' || v_raw;

    EXECUTE 'DELETE FROM assistant_db.rollup_hours AS r WHERE '
            || assistant_db.rollup_in('r.hour', p_from, p_to, p_rest);
    IF NOT p_rest THEN
        EXECUTE 'DELETE FROM assistant_db.rollup_days AS r WHERE '
                || assistant_db.rollup_in('r.day', v_day_from, v_day_to);
        EXECUTE pg_catalog.format(
            'INSERT INTO assistant_db.rollup_days SELECT * FROM (%s) AS d WHERE %s',
            assistant_db.rollup_sum_sql('days', pg_catalog.format(
                'SELECT * FROM assistant_db.rollup_hours AS x WHERE pg_catalog.isfinite(x.hour) AND %s',
                assistant_db.rollup_in('x.hour', v_day_from, v_day_to))),
            assistant_db.rollup_nonzero('days'));
    END IF;
    EXECUTE 'DELETE FROM assistant_db.rollup_triggers AS r WHERE '
            || assistant_db.rollup_in('r.hour', p_from, p_to, p_rest);
    EXECUTE pg_catalog.format('DELETE FROM assistant_db.rollup_triggers_by_mode AS r '
                              'WHERE (NOT r.day AND %s) OR (r.day AND %s)', v_at, v_days);
    EXECUTE pg_catalog.format('DELETE FROM assistant_db.rollup_times AS r '
                              'WHERE (NOT r.day AND %s) OR (r.day AND %s)', v_at, v_days);
    EXECUTE pg_catalog.format('DELETE FROM assistant_db.rollup_times_by_mode AS r '
                              'WHERE (NOT r.day AND %s) OR (r.day AND %s)', v_at, v_days);
    IF NOT p_rest THEN
        -- The days' other hours, summed again.
        EXECUTE pg_catalog.format(
            'INSERT INTO assistant_db.rollup_triggers_by_mode SELECT r.* FROM (%s) AS r WHERE r.day',
            assistant_db.rollup_by_mode_sql(pg_catalog.format(
                'SELECT * FROM assistant_db.rollup_triggers AS b WHERE %s',
                assistant_db.rollup_in('b.hour', v_day_from, v_day_to))));
        EXECUTE assistant_db.histogram_add_sql('', assistant_db.histogram_flat_sql(pg_catalog.format(
                'SELECT r.at AS hour, r.assistant_mode, r.intent_name, r.intent_category, r.buckets, r.counts '
                'FROM assistant_db.rollup_times AS r WHERE NOT r.day AND %s', v_days)), false)
            INTO v_zero, v_zero_by_mode;
    END IF;

    EXECUTE assistant_db.rollup_delta_sql('hours', assistant_db.rollup_raw_source(v_raw, false));
    EXECUTE assistant_db.rollup_delta_sql('times', assistant_db.rollup_raw_source(v_raw, false));
    EXECUTE assistant_db.rollup_delta_sql('triggers', assistant_db.rollup_raw_source(v_raw, true));
    PERFORM assistant_db.rollups_compact();
    EXECUTE 'SELECT count(*) FROM public.interactions AS i WHERE ' || v_raw INTO v_rows;
    RETURN v_rows;
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
BEGIN
    SELECT h.from_hour, h.to_hour INTO v_from, v_to FROM assistant_db.rollup_hours_of(p_from, p_to) AS h;
    -- Writers wait (readers do not) until the transaction ends: a row written meanwhile
    -- would be counted by its trigger and by the rebuild. Then every delta is folded in
    -- (no other fold runs meanwhile), and the range is replaced.
    PERFORM pg_catalog.pg_advisory_xact_lock(2026, 11);
    LOCK TABLE public.interactions, public.escalations IN SHARE MODE;
    PERFORM assistant_db.rollups_compact();
    RETURN assistant_db.rollups_build(v_from, v_to);
END;
$function$;

-- The columns of rollup_hours that the raw rows alone give (all but the sessions).
CREATE OR REPLACE FUNCTION assistant_db.rollup_counts_columns(p_key text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_key || ', d.assistant_mode, d.intent_name, d.intent_category, d.total, d.resolved, d.escalated, '
           'd.step_1, d.step_2, d.step_3, d.step_4, d.step_5, d.step_6, d.confidence_n, d.confidence_sum, '
           'd.confidence_bad, d.confidence_bins, d.time_n, d.time_sum, d.time_bad'
$$;

-- Compares without stopping writers, in four parts that together mean "exact": what the
-- hours, times and triggers hold with their pending deltas against the raw rows; the
-- per-mode rows against the rows they sum; the sessions counted per hour against the
-- sessions kept; and the sessions kept against their rows (those with a pending
-- change are the fold's, and skipped).
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
    v_day_from timestamptz;
    v_day_to timestamptz;
    v_table text;
    v_drift bigint;
    v_more bigint;
    v_result jsonb := '{}';
    v_diff constant text :=
        'WITH stored AS (%1$s), raw AS (%2$s) '
        'SELECT (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM raw) AS a) '
        '     + (SELECT count(*) FROM (SELECT * FROM raw EXCEPT ALL SELECT * FROM stored) AS b)';
BEGIN
    SELECT h.from_hour, h.to_hour INTO v_from, v_to FROM assistant_db.rollup_hours_of(p_from, p_to) AS h;
    SELECT d.from_day, d.to_day INTO v_day_from, v_day_to FROM assistant_db.rollup_days_of(v_from, v_to) AS d;

    FOREACH v_table IN ARRAY ARRAY['hours', 'triggers'] LOOP
        -- One statement, so one snapshot of the rollups, their deltas and the rows.
        EXECUTE pg_catalog.format(v_diff,
            pg_catalog.format('SELECT %s FROM (%s) AS d WHERE %s',
                CASE WHEN v_table = 'hours' THEN assistant_db.rollup_counts_columns('d.hour') ELSE 'd.*' END,
                assistant_db.rollup_sum_sql(v_table, pg_catalog.format(
                    'SELECT * FROM assistant_db.rollup_%1$s AS r WHERE %2$s '
                    'UNION ALL SELECT * FROM assistant_db.rollup_%1$s_delta AS r WHERE %2$s',
                    v_table, assistant_db.rollup_in('r.hour', v_from, v_to))),
                assistant_db.rollup_nonzero(CASE WHEN v_table = 'hours' THEN 'counts' ELSE v_table END)),
            pg_catalog.format('SELECT %s FROM (%s) AS d WHERE %s',
                CASE WHEN v_table = 'hours' THEN assistant_db.rollup_counts_columns('d.key') ELSE 'd.*' END,
                assistant_db.rollup_select(v_table, assistant_db.rollup_raw_source(
                    assistant_db.rollup_in('i."timestamp"', v_from, v_to), v_table = 'triggers')),
                assistant_db.rollup_nonzero(CASE WHEN v_table = 'hours' THEN 'counts' ELSE v_table END)))
        INTO v_drift;
        v_result := v_result || pg_catalog.jsonb_build_object(v_table, v_drift);
    END LOOP;

    -- The hourly histograms per group, bucket by bucket.
    EXECUTE pg_catalog.format(v_diff,
        pg_catalog.format(
            'SELECT f.hour, f.assistant_mode, f.intent_name, f.intent_category, f.b, sum(f.n)::bigint '
            'FROM (%s) AS f GROUP BY 1, 2, 3, 4, 5 HAVING sum(f.n) <> 0',
            assistant_db.histogram_flat_sql(pg_catalog.format(
                'SELECT r.at AS hour, r.assistant_mode, r.intent_name, r.intent_category, r.buckets, r.counts '
                'FROM assistant_db.rollup_times AS r WHERE NOT r.day AND %s '
                'UNION ALL SELECT * FROM assistant_db.rollup_times_delta AS r WHERE %s',
                assistant_db.rollup_in('r.at', v_from, v_to), assistant_db.rollup_in('r.hour', v_from, v_to)))),
        pg_catalog.format('SELECT f.hour, f.assistant_mode, f.intent_name, f.intent_category, f.b, f.n::bigint FROM (%s) AS f',
            assistant_db.histogram_flat_sql(pg_catalog.format(
                'SELECT d.key AS hour, d.assistant_mode, d.intent_name, d.intent_category, d.buckets, d.counts '
                'FROM (%s) AS d',
                assistant_db.rollup_select('times', assistant_db.rollup_raw_source(
                    assistant_db.rollup_in('i."timestamp"', v_from, v_to), false))))))
    INTO v_drift;
    v_result := v_result || pg_catalog.jsonb_build_object('times', v_drift);

    -- The day rows and the per-mode rows against the hours per group they sum (folds
    -- change both in one transaction, so any snapshot sees them agree).
    EXECUTE pg_catalog.format(v_diff,
        pg_catalog.format(
            'SELECT r.day, r.at, r.assistant_mode, r.trigger_type, r.n::numeric FROM assistant_db.rollup_triggers_by_mode AS r '
            'WHERE (NOT r.day AND %s) OR (r.day AND %s)',
            assistant_db.rollup_in('r.at', v_from, v_to), assistant_db.rollup_in('r.at', v_day_from, v_day_to)),
        pg_catalog.format('SELECT r.* FROM (%s) AS r WHERE (NOT r.day AND %s) OR (r.day AND %s)',
            assistant_db.rollup_by_mode_sql(pg_catalog.format(
                'SELECT * FROM assistant_db.rollup_triggers AS b WHERE %s',
                assistant_db.rollup_in('b.hour', v_day_from, v_day_to))),
            assistant_db.rollup_in('r.at', v_from, v_to), assistant_db.rollup_in('r.at', v_day_from, v_day_to)))
    INTO v_drift;
    EXECUTE pg_catalog.format(v_diff,
        pg_catalog.format(
            'SELECT true AS by_group, r.day, r.at, r.assistant_mode, r.intent_name, r.intent_category, u.b, u.n '
            'FROM assistant_db.rollup_times AS r '
            'CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.buckets), pg_catalog.unnest(r.counts)) AS u(b, n) '
            'WHERE r.day AND %2$s '
            'UNION ALL '
            'SELECT false, r.day, r.at, r.assistant_mode, NULL, NULL, u.b, u.n '
            'FROM assistant_db.rollup_times_by_mode AS r '
            'CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.buckets), pg_catalog.unnest(r.counts)) AS u(b, n) '
            'WHERE (NOT r.day AND %1$s) OR (r.day AND %2$s)',
            assistant_db.rollup_in('r.at', v_from, v_to), assistant_db.rollup_in('r.at', v_day_from, v_day_to)),
        pg_catalog.format(
            'WITH f AS MATERIALIZED (%1$s) '
            'SELECT true AS by_group, true AS day, pg_catalog.date_trunc(''day'', f.hour, ''UTC'') AS at, '
            '       f.assistant_mode, f.intent_name, f.intent_category, f.b, sum(f.n)::bigint AS n '
            'FROM f WHERE pg_catalog.isfinite(f.hour) GROUP BY 3, 4, 5, 6, 7 HAVING sum(f.n) <> 0 '
            'UNION ALL '
            'SELECT false, false, f.hour, f.assistant_mode, NULL, NULL, f.b, sum(f.n)::bigint '
            'FROM f WHERE %2$s GROUP BY 3, 4, 7 HAVING sum(f.n) <> 0 '
            'UNION ALL '
            'SELECT false, true, pg_catalog.date_trunc(''day'', f.hour, ''UTC''), f.assistant_mode, NULL, NULL, f.b, '
            '       sum(f.n)::bigint '
            'FROM f WHERE pg_catalog.isfinite(f.hour) GROUP BY 3, 4, 7 HAVING sum(f.n) <> 0',
            assistant_db.histogram_flat_sql(pg_catalog.format(
                'SELECT r.at AS hour, r.assistant_mode, r.intent_name, r.intent_category, r.buckets, r.counts '
                'FROM assistant_db.rollup_times AS r WHERE NOT r.day AND %s',
                assistant_db.rollup_in('r.at', v_day_from, v_day_to))),
            assistant_db.rollup_in('f.hour', v_from, v_to)))
    INTO v_more;
    v_drift := v_drift + v_more;
    EXECUTE pg_catalog.format(v_diff,
        pg_catalog.format('SELECT r.* FROM assistant_db.rollup_days AS r WHERE %s',
                          assistant_db.rollup_in('r.day', v_day_from, v_day_to)),
        pg_catalog.format('SELECT d.* FROM (%s) AS d WHERE %s',
            assistant_db.rollup_sum_sql('days', pg_catalog.format(
                'SELECT * FROM assistant_db.rollup_hours AS x WHERE pg_catalog.isfinite(x.hour) AND %s',
                assistant_db.rollup_in('x.hour', v_day_from, v_day_to))),
            assistant_db.rollup_nonzero('days')))
    INTO v_more;
    v_result := v_result || pg_catalog.jsonb_build_object('by_mode', v_drift + v_more);

    EXECUTE pg_catalog.format(v_diff,
        pg_catalog.format('SELECT r.hour, r.assistant_mode, r.intent_name, r.intent_category, '
                          'r.sessions, r.sessions_contained FROM assistant_db.rollup_hours AS r '
                          'WHERE %s AND (r.sessions <> 0 OR r.sessions_contained <> 0)',
                          assistant_db.rollup_in('r.hour', v_from, v_to)),
        pg_catalog.format('SELECT pg_catalog.date_trunc(''hour'', s.first_at, ''UTC''), s.assistant_mode, '
                          's.intent_name, s.intent_category, count(*), count(*) FILTER (WHERE NOT s.escalated) '
                          'FROM assistant_db.rollup_sessions AS s WHERE %s GROUP BY 1, 2, 3, 4',
                          assistant_db.rollup_in('s.first_at', v_from, v_to)))
        INTO v_drift;
    EXECUTE pg_catalog.format(
        'WITH touched AS MATERIALIZED ('
        '    SELECT i.session_id FROM public.interactions AS i WHERE i.session_id IS NOT NULL AND %1$s '
        '    UNION SELECT s.session_id FROM assistant_db.rollup_sessions AS s WHERE %2$s), '
        'settled AS MATERIALIZED (SELECT t.session_id FROM touched AS t WHERE NOT EXISTS ('
        '    SELECT FROM assistant_db.rollup_sessions_delta AS d WHERE d.session_id = t.session_id)), '
        'stored AS (SELECT s.* FROM assistant_db.rollup_sessions AS s '
        '           JOIN settled AS t ON t.session_id = s.session_id), '
        'raw AS (%3$s) '
        'SELECT (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM raw) AS a) '
        '     + (SELECT count(*) FROM (SELECT * FROM raw EXCEPT ALL SELECT * FROM stored) AS b)',
        assistant_db.rollup_in('i."timestamp"', v_from, v_to),
        assistant_db.rollup_in('s.first_at', v_from, v_to),
        assistant_db.rollup_sessions_truth_sql('SELECT * FROM settled'))
        INTO v_more;
    v_result := v_result || pg_catalog.jsonb_build_object('sessions', v_drift + v_more);

    RETURN pg_catalog.jsonb_build_object(
        'from', v_from, 'to', v_to, 'groups_differing', v_result,
        'ok', NOT EXISTS (SELECT FROM pg_catalog.jsonb_each_text(v_result) AS e WHERE e.value <> '0'));
END;
$function$;

COMMENT ON FUNCTION public.rollups_check(timestamptz, timestamptz) IS
    'assistant-db: compares the rollups of the hours in [p_from, p_to) with the raw rows and counts '
    'the groups that differ per table ({"ok": true} when none). NULL bounds: every hour.';
COMMENT ON FUNCTION public.rollups_rebuild(timestamptz, timestamptz) IS
    'assistant-db: replaces the rollups of the hours in [p_from, p_to) by what the raw rows give, '
    'holding writers meanwhile; returns the interactions read. NULL bounds: every hour.';

-- 6. Metrics from the rollups. ----------------------------------------------------------------

-- The computation over raw rows as migration 010 left it, under another name, with the
-- sessions counted where they begin (see Sessions above): what `rollups check`, the
-- tests and the scale benchmark compare with. Copied from the function itself, once (a
-- later paste finds the rollups in it and leaves the copy).
DO $raw$
DECLARE
    v_def text := pg_catalog.pg_get_functiondef(
        'public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)'::pg_catalog.regprocedure);
    v_sessions constant text := $old$
    sessions AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE NOT s.any_escalated) AS contained
        FROM (
            SELECT bool_or(f.outcome = 'escalated') AS any_escalated
            FROM filtered AS f
            WHERE f.session_id IS NOT NULL
            GROUP BY f.session_id
        ) AS s
    ),$old$;
    v_first_turns constant text := $new$
    sessions AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT FROM public.interactions AS x
                   WHERE x.session_id = f.session_id AND x.outcome = 'escalated')) AS contained
        FROM filtered AS f
        WHERE f.session_id IS NOT NULL
          AND f.id = (SELECT x.id FROM public.interactions AS x WHERE x.session_id = f.session_id
                      ORDER BY x."timestamp", x.id LIMIT 1)
    ),$new$;
BEGIN
    IF pg_catalog.strpos(v_def, 'rollup_hours') = 0 THEN
        IF pg_catalog.strpos(v_def, v_sessions) = 0 THEN
            RAISE EXCEPTION 'migration 011: interaction_metrics_tz is not the function migration 010 created'
                USING HINT = 'Run migration 010 again, then this one.';
        END IF;
        EXECUTE pg_catalog.replace(
            pg_catalog.replace(v_def, 'public.interaction_metrics_tz(', 'assistant_db.interaction_metrics_raw('),
            v_sessions, v_first_turns);
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
-- What it reads is small: starting parallel workers or compiling the plan (JIT) would
-- cost more than the reading (the planner, misled by the edges' estimates, tries both).
SET max_parallel_workers_per_gather = 0
SET jit = off
AS $function$
DECLARE
    v_result jsonb;
    -- The smallest group shown: every group for callers that may read the rows anyway.
    v_k integer := 0;
    v_horizon constant timestamptz := pg_catalog.now() + interval '5 minutes';
    -- Parameters of the dynamic statements: $1 mode, $2 from, $3 to, $4 intent,
    -- $5 category, $6 bucket, $7 zone, $8 horizon, $9 the edge hours, $10 k, $11 the
    -- whole days, $12 and $13 the ranges of hours between them, $14 the hours a bucket
    -- begins inside (NULL: unknown, tested row by row), $15 and $16 the ranges of hours
    -- between the days whose counts are read from rollup_days, $17 those days.
    v_mode text;
    v_filter text;
    v_groups text;
    -- Without an intent or category filter, times and triggers come per mode.
    v_by_mode constant boolean := p_intent IS NULL AND p_category IS NULL;
    v_days timestamptz[] := '{}';
    v_gap_lo timestamptz[] := '{}';
    v_gap_hi timestamptz[] := '{}';
    v_lo timestamptz;
    v_hi timestamptz;
    v_straddles timestamptz[];
    v_count_days timestamptz[] := '{}';
    v_count_lo timestamptz[] := '{}';
    v_count_hi timestamptz[] := '{}';
    v_hours text;
    v_times text;
    v_triggers text;
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

    -- The filters on a rollup row `r`; the mode leads every key (both modes when none is
    -- asked: the schema allows no other), and the hour bounds narrow the key's range.
    v_mode := CASE WHEN p_mode IS NOT NULL THEN ' AND r.assistant_mode = $1'
                   ELSE ' AND r.assistant_mode IN (''banker'', ''customer'')' END;
    v_filter := v_mode;
    IF p_intent IS NOT NULL THEN v_filter := v_filter || ' AND r.intent_name = $4'; END IF;
    IF p_category IS NOT NULL THEN v_filter := v_filter || ' AND r.intent_category = $5'; END IF;
    v_groups := v_filter;
    IF p_from IS NOT NULL THEN
        v_groups := v_groups || ' AND r.hour >= pg_catalog.date_trunc(''hour'', $2, ''UTC'')';
    END IF;
    IF p_to IS NOT NULL THEN v_groups := v_groups || ' AND r.hour <= $3'; END IF;

    -- An hour is answered by its rollup when all its rows are in the window, on the same
    -- side of the horizon and in the same bucket; a NULL or infinite hour when its rows
    -- are in the window (their timestamp is the hour itself).
    -- The hours a bucket of the zone begins inside (zones whose offset is not whole hours),
    -- listed when the window is bounded; else found row by row.
    IF pg_catalog.isfinite(p_from) AND pg_catalog.isfinite(p_to) THEN
        SELECT coalesce(array_agg(DISTINCT pg_catalog.date_trunc('hour', b.at, 'UTC')), '{}')
        INTO v_straddles
        FROM (SELECT (d.local AT TIME ZONE p_tz) AS at
              FROM pg_catalog.generate_series(pg_catalog.date_trunc(p_bucket, p_from AT TIME ZONE p_tz),
                                              p_to AT TIME ZONE p_tz, ('1 ' || p_bucket)::interval) AS d(local)) AS b
        WHERE b.at <> pg_catalog.date_trunc('hour', b.at, 'UTC');
    END IF;
    v_whole := pg_catalog.format(
        'CASE WHEN r.hour IS NULL THEN $2 IS NULL AND $3 IS NULL '
        '     WHEN NOT pg_catalog.isfinite(r.hour) THEN ($2 IS NULL OR r.hour >= $2) AND ($3 IS NULL OR r.hour <= $3) '
        '     ELSE ($2 IS NULL OR r.hour >= $2) AND ($3 IS NULL OR %1$s <= $3) '
        '          AND NOT (r.hour <= $8 AND %1$s > $8) '
        '          AND CASE WHEN $14::timestamptz[] IS NULL '
        '                   THEN pg_catalog.date_trunc($6, r.hour, $7) = pg_catalog.date_trunc($6, %1$s, $7) '
        '                   ELSE r.hour <> ALL ($14::timestamptz[]) END END',
        v_last);

    -- The other hours the window touches are read from the raw rows.
    EXECUTE pg_catalog.format(
        'SELECT ARRAY(SELECT DISTINCT r.hour FROM (SELECT * FROM assistant_db.rollup_hours UNION ALL '
        'SELECT * FROM assistant_db.rollup_hours_delta) AS r '
        'WHERE pg_catalog.isfinite(r.hour) %s AND NOT (%s) '
        'AND ($2 IS NULL OR %s >= $2) AND ($3 IS NULL OR r.hour <= $3))',
        v_groups, v_whole, v_last)
        INTO v_edges
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon,
              NULL::timestamptz[], NULL::integer, NULL::timestamptz[], NULL::timestamptz[], NULL::timestamptz[],
              v_straddles;

    v_edge_rows := 'SELECT 1 AS sign, i.*, '
        '       coalesce(st.first_id = i.id AND pd.session_id IS NULL, false) AS first_turn, '
        '       coalesce(st.escalated, false) AS session_escalated '
        'FROM pg_catalog.unnest($9::timestamptz[]) AS e(hour) '
        'JOIN public.interactions AS i ON i."timestamp" >= e.hour AND i."timestamp" < e.hour + interval ''1 hour'' '
        'LEFT JOIN LATERAL (SELECT k.first_id, k.escalated FROM assistant_db.rollup_sessions AS k '
        '                   WHERE k.session_id = i.session_id LIMIT 1) AS st ON true '
        'LEFT JOIN (SELECT DISTINCT d.session_id FROM assistant_db.rollup_sessions_delta AS d) AS pd '
        '       ON pd.session_id = i.session_id '
        'WHERE ($1 IS NULL OR i.assistant_mode = $1) AND ($2 IS NULL OR i."timestamp" >= $2) '
        'AND ($3 IS NULL OR i."timestamp" <= $3) AND ($4 IS NULL OR i.intent_name = $4) '
        'AND ($5 IS NULL OR i.intent_category = $5)';
    -- (OFFSET 0 keeps the escalations read per edge row, through their index: the
    -- planner overestimates the edge rows and would hash every escalation.)
    v_edge_escalations := 'SELECT r.*, x.trigger_type FROM edge AS r '
        'CROSS JOIN LATERAL (SELECT e.trigger_type FROM public.escalations AS e '
        '                    WHERE e.interaction_id = r.id OFFSET 0) AS x';

    -- Whole UTC days: days in the window none of whose hours with rows is an edge. Their
    -- histograms and triggers come from one row per day; the hours between them, in the
    -- ranges [$12[k], $13[k]), from one row per hour.
    IF pg_catalog.isfinite(p_from) AND pg_catalog.isfinite(p_to) THEN
        SELECT coalesce(array_agg(d.day ORDER BY d.day), '{}')
        INTO v_days
        FROM pg_catalog.generate_series(pg_catalog.date_trunc('day', p_from, 'UTC'), p_to, interval '24 hours') AS d(day)
        WHERE d.day >= p_from AND d.day + interval '24 hours' - interval '1 microsecond' <= p_to
          AND NOT EXISTS (SELECT FROM pg_catalog.unnest(v_edges) AS e(hour)
                          WHERE e.hour >= d.day AND e.hour < d.day + interval '24 hours');
    ELSE
    EXECUTE pg_catalog.format(
        'SELECT coalesce(array_agg(DISTINCT d.day ORDER BY d.day), ''{}'') '
        'FROM (SELECT pg_catalog.date_trunc(''day'', r.hour, ''UTC'') AS day '
        '      FROM (SELECT h.hour, h.assistant_mode, h.intent_name, h.intent_category FROM assistant_db.rollup_hours AS h '
        '            UNION ALL SELECT h.hour, h.assistant_mode, h.intent_name, h.intent_category '
        '            FROM assistant_db.rollup_hours_delta AS h) AS r '
        '      WHERE pg_catalog.isfinite(r.hour) %s) AS d '
        'WHERE ($2 IS NULL OR d.day >= $2) '
        'AND ($3 IS NULL OR d.day + interval ''24 hours'' - interval ''1 microsecond'' <= $3) '
        'AND NOT EXISTS (SELECT FROM pg_catalog.unnest($9::timestamptz[]) AS e(hour) '
        '                WHERE e.hour >= d.day AND e.hour < d.day + interval ''24 hours'')',
        v_groups)
        INTO v_days
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon, v_edges;
    END IF;
    v_lo := CASE WHEN pg_catalog.isfinite(p_from) THEN pg_catalog.date_trunc('hour', p_from, 'UTC')
                 ELSE '-infinity' END;
    v_hi := CASE WHEN pg_catalog.isfinite(p_to)
                 THEN pg_catalog.date_trunc('hour', p_to, 'UTC') + interval '1 hour'
                 ELSE 'infinity' END;
    SELECT coalesce(array_agg(g.lo ORDER BY g.lo), '{}'), coalesce(array_agg(g.hi ORDER BY g.lo), '{}')
    INTO v_gap_lo, v_gap_hi
    FROM (SELECT coalesce(pg_catalog.lag(d.day) OVER (ORDER BY d.day) + interval '24 hours', v_lo) AS lo,
                 d.day AS hi
          FROM pg_catalog.unnest(v_days || v_hi) AS d(day)) AS g
    WHERE g.lo < g.hi;

    -- The counts of a whole day come from its rollup_days row when the day lies in one
    -- bucket (day or week buckets in a zone whose midnight is UTC's) and on one side of
    -- the horizon.
    IF p_bucket IN ('day', 'week') THEN
        SELECT coalesce(array_agg(d.day ORDER BY d.day), '{}')
        INTO v_count_days
        FROM pg_catalog.unnest(v_days) AS d(day)
        WHERE pg_catalog.date_trunc(p_bucket, d.day, p_tz)
              = pg_catalog.date_trunc(p_bucket, d.day + interval '24 hours' - interval '1 microsecond', p_tz)
          AND (d.day + interval '24 hours' - interval '1 microsecond' <= v_horizon OR d.day > v_horizon);
    END IF;
    SELECT coalesce(array_agg(g.lo ORDER BY g.lo), '{}'), coalesce(array_agg(g.hi ORDER BY g.lo), '{}')
    INTO v_count_lo, v_count_hi
    FROM (SELECT coalesce(pg_catalog.lag(d.day) OVER (ORDER BY d.day) + interval '24 hours', v_lo) AS lo,
                 d.day AS hi
          FROM pg_catalog.unnest(v_count_days || v_hi) AS d(day)) AS g
    WHERE g.lo < g.hi;
    v_hours := pg_catalog.format(
        'SELECT r.* FROM ROWS FROM (pg_catalog.unnest($15::timestamptz[]), pg_catalog.unnest($16::timestamptz[])) AS g(lo, hi) '
        'JOIN LATERAL (SELECT m.* FROM assistant_db.rollup_hours AS m '
        '              WHERE m.hour >= g.lo AND m.hour < g.hi %1$s) AS r ON true '
        'WHERE pg_catalog.isfinite(r.hour) AND (%2$s) %3$s '
        'UNION ALL '
        'SELECT r.* FROM assistant_db.rollup_hours AS r '
        'WHERE (r.hour IS NULL OR NOT pg_catalog.isfinite(r.hour)) AND (%2$s) %3$s '
        'UNION ALL '
        'SELECT r.* FROM assistant_db.rollup_hours_delta AS r WHERE (%2$s) %3$s',
        pg_catalog.replace(v_mode, 'r.', 'm.'), v_whole, v_groups);

    -- Rows of a histogram or trigger table `%1$s` with hour and day rows, whole hours
    -- outside the whole days, then the whole days, then the pending deltas; %2$s: the
    -- columns to take, %3$s the filter (on `r`).
    v_times := 'SELECT %2$s FROM ROWS FROM (pg_catalog.unnest($12::timestamptz[]), pg_catalog.unnest($13::timestamptz[])) AS g(lo, hi) '
        'JOIN LATERAL (SELECT m.at AS hour, m.* FROM assistant_db.rollup_%1$s AS m '
        '              WHERE NOT m.day AND m.at >= g.lo AND m.at < g.hi %4$s) AS r ON true '
        'WHERE pg_catalog.isfinite(r.hour) AND (%5$s) '
        'UNION ALL '
        'SELECT %2$s FROM (SELECT m.at AS hour, m.* FROM assistant_db.rollup_%1$s AS m '
        '                  WHERE NOT m.day AND (m.at IS NULL OR NOT pg_catalog.isfinite(m.at)) %4$s) AS r '
        'WHERE (%5$s) '
        'UNION ALL '
        'SELECT %2$s FROM assistant_db.rollup_%1$s AS r WHERE r.day AND r.at = ANY ($11) %3$s '
        'UNION ALL '
        'SELECT %2$s FROM assistant_db.rollup_%6$s_delta AS r WHERE (%5$s) %7$s';
    IF v_by_mode THEN
        v_triggers := pg_catalog.format(v_times, 'triggers_by_mode', 'r.trigger_type AS x, r.n', v_mode,
                                        pg_catalog.replace(v_mode, 'r.', 'm.'), v_whole, 'triggers', v_groups);
    ELSE
        v_triggers := pg_catalog.format(
            'SELECT r.trigger_type AS x, r.n FROM (SELECT * FROM assistant_db.rollup_triggers UNION ALL '
            'SELECT * FROM assistant_db.rollup_triggers_delta) AS r WHERE (%s) %s', v_whole, v_groups);
    END IF;
    v_times := 'SELECT u.b AS x, u.n FROM (' || pg_catalog.format(v_times,
            CASE WHEN v_by_mode THEN 'times_by_mode' ELSE 'times' END, 'r.buckets, r.counts', v_filter,
            pg_catalog.replace(v_filter, 'r.', 'm.'), v_whole, 'times', v_groups)
        || ') AS h CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(h.buckets), pg_catalog.unnest(h.counts)) AS u(b, n)';

    EXECUTE pg_catalog.format($query$
    WITH edge AS MATERIALIZED (%10$s),
    units AS MATERIALIZED (
        SELECT CASE WHEN pg_catalog.isfinite(r.hour) AND %1$s <= $8
                    THEN pg_catalog.date_trunc($6, r.hour, $7) END AS key,
               r.assistant_mode, r.intent_name, r.intent_category, r.total, r.resolved, r.escalated,
               r.step_1, r.step_2, r.step_3, r.step_4, r.step_5, r.step_6, r.confidence_n,
               r.confidence_sum, r.confidence_bad, r.confidence_bins, r.time_n, r.time_sum, r.time_bad,
               r.sessions, r.sessions_contained
        FROM (%11$s) AS r
        UNION ALL
        SELECT CASE WHEN r.day + interval '24 hours' - interval '1 microsecond' <= $8
                    THEN pg_catalog.date_trunc($6, r.day, $7) END,
               r.assistant_mode, r.intent_name, r.intent_category, r.total, r.resolved, r.escalated,
               r.step_1, r.step_2, r.step_3, r.step_4, r.step_5, r.step_6, r.confidence_n,
               r.confidence_sum, r.confidence_bad, r.confidence_bins, r.time_n, r.time_sum, r.time_bad,
               r.sessions, r.sessions_contained
        FROM assistant_db.rollup_days AS r
        WHERE r.day = ANY ($17::timestamptz[]) %12$s
        UNION ALL
        %4$s
    ),
    times AS (
        SELECT t.bucket, sum(t.n) AS n
        FROM (SELECT w.x AS bucket, w.n FROM (%5$s) AS w
              UNION ALL
              SELECT u.b, u.n FROM (%6$s) AS d
              CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(d.buckets), pg_catalog.unnest(d.counts)) AS u(b, n)) AS t
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
               coalesce(sum(u.total) FILTER (WHERE u.key IS NULL), 0) AS untimed,
               coalesce(sum(u.sessions), 0) AS sessions,
               coalesce(sum(u.sessions_contained), 0) AS sessions_contained,
               ARRAY[sum(u.confidence_bins[1]), sum(u.confidence_bins[2]), sum(u.confidence_bins[3]),
                     sum(u.confidence_bins[4]), sum(u.confidence_bins[5]), sum(u.confidence_bins[6]),
                     sum(u.confidence_bins[7]), sum(u.confidence_bins[8]), sum(u.confidence_bins[9]),
                     sum(u.confidence_bins[10])] AS bins
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
        SELECT n.bin, coalesce(t.bins[n.bin], 0) AS total
        FROM pg_catalog.generate_series(1, 10) AS n(bin) CROSS JOIN totals AS t
    ),
    -- Sessions with a change the fold has not made yet: counted from their rows, and
    -- what the hours hold for them taken away.
    deltas AS MATERIALIZED (SELECT * FROM assistant_db.rollup_sessions_delta),
    redo AS MATERIALIZED (SELECT DISTINCT d.session_id FROM deltas AS d WHERE d.recompute),
    pending AS MATERIALIZED (SELECT DISTINCT d.session_id FROM deltas AS d),
    fix AS (
        SELECT coalesce(sum(x.sign), 0) AS total,
               coalesce(sum(x.sign) FILTER (WHERE NOT x.escalated), 0) AS contained
        FROM (
            SELECT 1 AS sign, t.escalated
            FROM (%8$s) AS t
            WHERE ($1 IS NULL OR t.assistant_mode = $1) AND ($2 IS NULL OR t.first_at >= $2)
              AND ($3 IS NULL OR t.first_at <= $3) AND ($4 IS NULL OR t.intent_name = $4)
              AND ($5 IS NULL OR t.intent_category = $5)
            UNION ALL
            SELECT -1, r.escalated
            FROM (SELECT pg_catalog.date_trunc('hour', s.first_at, 'UTC') AS hour, s.*
                  FROM assistant_db.rollup_sessions AS s JOIN pending AS p ON p.session_id = s.session_id) AS r
            WHERE (%2$s) %3$s
        ) AS x
    ),
    sessions AS (
        SELECT t.sessions + f.total AS total, t.sessions_contained + f.contained AS contained
        FROM totals AS t CROSS JOIN fix AS f
    ),
    triggers AS (
        SELECT x.trigger_type, sum(x.n) AS n
        FROM (SELECT w.x AS trigger_type, w.n FROM (%7$s) AS w
              UNION ALL
              SELECT d.trigger_type, d.n FROM (%9$s) AS d) AS x
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
        assistant_db.rollup_select('hours', 'SELECT * FROM edge', v_key),
        v_times,
        assistant_db.rollup_select('times', 'SELECT * FROM edge', v_key),
        v_triggers,
        assistant_db.rollup_sessions_next_sql(),
        assistant_db.rollup_select('triggers', v_edge_escalations, v_key),
        v_edge_rows,
        v_hours,
        v_filter)
        INTO v_result
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon, v_edges, v_k,
              v_days, v_gap_lo, v_gap_hi, v_straddles, v_count_lo, v_count_hi, v_count_days;

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
    'percentiles from a histogram within 0.75 %; a session counts in the window holding its first interaction. '
    'For the public key: only while assistant_db.set_public_metrics(true), whole-hour windows, groups of '
    'fewer than 10 rows suppressed.';

REVOKE ALL ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION
    public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)
    TO anon, authenticated, service_role;

-- Migration 005's six-argument function is this one in UTC (pasting 005 again brings
-- back its computation over raw rows, at the old cost, sessions counted the old way).
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
    assistant_db.time_bucket_sql(text),
    assistant_db.rollup_select(text, text, text),
    assistant_db.rollup_nonzero(text),
    assistant_db.rollup_upsert_sql(text, text),
    assistant_db.rollup_delta_sql(text, text),
    assistant_db.rollup_sum_sql(text, text),
    assistant_db.rollup_by_mode_sql(text),
    assistant_db.histogram_merge(smallint[], bigint[], smallint[], bigint[]),
    assistant_db.histogram_flat_sql(text),
    assistant_db.histogram_add_sql(text, text, boolean),
    assistant_db.rollup_sessions_truth_sql(text),
    assistant_db.rollup_sessions_next_sql(),
    assistant_db.rollup_sessions_with_sql(text),
    assistant_db.rollup_write_sql(text, text, boolean),
    assistant_db.rollups_compact(boolean),
    assistant_db.rollup_in(text, timestamptz, timestamptz, boolean),
    assistant_db.rollup_raw_source(text, boolean),
    assistant_db.rollup_hours_of(timestamptz, timestamptz),
    assistant_db.rollup_days_of(timestamptz, timestamptz),
    assistant_db.rollups_build(timestamptz, timestamptz, boolean),
    assistant_db.rollup_counts_columns(text),
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
    v_next timestamptz;
    v_rows bigint;
    v_done bigint := 0;
    v_started constant timestamptz := pg_catalog.clock_timestamp();
BEGIN
    -- Writers wait until the migration commits: their rows are counted by the triggers.
    PERFORM pg_catalog.pg_advisory_xact_lock(2026, 11);
    LOCK TABLE public.interactions, public.escalations IN SHARE MODE;
    DELETE FROM assistant_db.rollup_hours;
    DELETE FROM assistant_db.rollup_days;
    DELETE FROM assistant_db.rollup_times;
    DELETE FROM assistant_db.rollup_triggers;
    DELETE FROM assistant_db.rollup_times_by_mode;
    DELETE FROM assistant_db.rollup_triggers_by_mode;
    DELETE FROM assistant_db.rollup_sessions;
    DELETE FROM assistant_db.rollup_hours_delta;
    DELETE FROM assistant_db.rollup_times_delta;
    DELETE FROM assistant_db.rollup_triggers_delta;
    DELETE FROM assistant_db.rollup_sessions_delta;
    SELECT pg_catalog.date_trunc('month', min(i."timestamp"), 'UTC'), max(i."timestamp")
    INTO v_first, v_last
    FROM public.interactions AS i
    WHERE pg_catalog.isfinite(i."timestamp");
    v_month := v_first;
    WHILE v_month <= v_last LOOP
        v_next := ((v_month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        v_rows := assistant_db.rollups_build(v_month, v_next);
        v_done := v_done + v_rows;
        RAISE NOTICE 'rollups: % interactions of % counted (% in all, % s)',
            v_rows, pg_catalog.to_char(v_month AT TIME ZONE 'UTC', 'YYYY-MM'), v_done,
            pg_catalog.round(EXTRACT(epoch FROM pg_catalog.clock_timestamp() - v_started)::numeric, 1);
        v_month := v_next;
    END LOOP;
    -- Rows without a finite timestamp.
    PERFORM assistant_db.rollups_build(NULL, NULL, true);
END
$build$;
