-- Rollups: the rows of a window's edge hours are read hour by hour through the timestamp
-- index.
--
-- interaction_metrics_tz (011) reads from the raw rows only the hours the rollups cannot
-- answer: the partial hours at the window's edges (a window ending now, `7d` or `30d` on
-- the dashboard, has two) and, in zones whose offset is not whole hours, the hours a
-- bucket begins inside. It joined the rows to the list of those hours; the planner, which
-- cannot know from a join how few rows an hour holds, guessed a share of the table and
-- scanned every row of the window instead. On a copy of 10 million rows over 90 days, a
-- 30-day window of one assistant ending at the present minute took 1.1 to 3.9 s (the same
-- window on whole hours: 54 ms).
--
-- After this migration the edge hours are sorted, and the rows' statement names each
-- hour's range (`$9[k] <= timestamp < $9[k] + 1 hour`, up to 256 hours), which the planner
-- estimates from the index and reads through it: the same window takes 56 ms. Past 256
-- hours (hourly buckets of such a zone over more than ten days: every hour is an edge) it
-- reads the span from the first edge hour to the last, keeping the rows of edge hours.
-- Nothing else changes: what it answers, its JSON, the other statements.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

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
        'AND ($2 IS NULL OR %s >= $2) AND ($3 IS NULL OR r.hour <= $3) ORDER BY r.hour)',
        v_groups, v_whole, v_last)
        INTO v_edges
        USING p_mode, p_from, p_to, p_intent, p_category, p_bucket, p_tz, v_horizon,
              NULL::timestamptz[], NULL::integer, NULL::timestamptz[], NULL::timestamptz[], NULL::timestamptz[],
              v_straddles;

    -- The edge hours' rows: each hour's range spelled out (the planner then reads each
    -- through the timestamp index, knowing how few rows it holds; joined to the list of
    -- hours it would guess a share of the table and scan it all); past 256 hours,
    -- the span from the first to the last, by hour.
    v_edge_rows := 'SELECT 1 AS sign, i.*, '
        '       coalesce(st.first_id = i.id AND pd.session_id IS NULL, false) AS first_turn, '
        '       coalesce(st.escalated, false) AS session_escalated '
        'FROM public.interactions AS i '
        'LEFT JOIN LATERAL (SELECT k.first_id, k.escalated FROM assistant_db.rollup_sessions AS k '
        '                   WHERE k.session_id = i.session_id LIMIT 1) AS st ON true '
        'LEFT JOIN (SELECT DISTINCT d.session_id FROM assistant_db.rollup_sessions_delta AS d) AS pd '
        '       ON pd.session_id = i.session_id '
        'WHERE ($1 IS NULL OR i.assistant_mode = $1) AND ($2 IS NULL OR i."timestamp" >= $2) '
        'AND ($3 IS NULL OR i."timestamp" <= $3) AND ($4 IS NULL OR i.intent_name = $4) '
        'AND ($5 IS NULL OR i.intent_category = $5) AND '
        || CASE WHEN pg_catalog.cardinality(v_edges) = 0 THEN 'false'
                WHEN pg_catalog.cardinality(v_edges) <= 256 THEN
                    (SELECT '(' || pg_catalog.string_agg(pg_catalog.format(
                                '(i."timestamp" >= $9[%1$s] AND i."timestamp" < $9[%1$s] + interval ''1 hour'')', k),
                                ' OR ') || ')'
                     FROM pg_catalog.generate_series(1, pg_catalog.cardinality(v_edges)) AS k)
                ELSE 'i."timestamp" >= $9[1] AND i."timestamp" < $9[pg_catalog.cardinality($9)] + interval ''1 hour'' '
                     'AND pg_catalog.date_trunc(''hour'', i."timestamp", ''UTC'') = ANY ($9)' END;
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
