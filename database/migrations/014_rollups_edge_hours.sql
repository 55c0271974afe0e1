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
-- Nothing else changes: what it answers, its JSON, the other statements. The function is
-- patched from its stored definition, as 011 derives interaction_metrics_raw from 010's.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

DO $patch$
DECLARE
    v_def text := pg_catalog.pg_get_functiondef(
        'public.interaction_metrics_tz(text, timestamptz, timestamptz, text, text, text, text)'::regprocedure);
    -- Pairs of (what 011 wrote, what replaces it).
    v_edits constant text[][] := ARRAY[
        -- The edge hours, sorted: $9[1] is the first, $9[n] the last.
        [$old$'AND ($2 IS NULL OR %s >= $2) AND ($3 IS NULL OR r.hour <= $3))',$old$,
         $new$'AND ($2 IS NULL OR %s >= $2) AND ($3 IS NULL OR r.hour <= $3) ORDER BY r.hour)',$new$],
        -- Their rows: no join to the list of hours ...
        [$old$        'FROM pg_catalog.unnest($9::timestamptz[]) AS e(hour) '
        'JOIN public.interactions AS i ON i."timestamp" >= e.hour AND i."timestamp" < e.hour + interval ''1 hour'' '
$old$,
         $new$        'FROM public.interactions AS i '
$new$],
        -- ... but each hour's range named (the planner then reads each through the
        -- timestamp index, knowing how few rows it holds); past 256 hours, the span from
        -- the first to the last, by hour.
        [$old$        'AND ($5 IS NULL OR i.intent_category = $5)';
$old$,
         $new$        'AND ($5 IS NULL OR i.intent_category = $5) AND '
        || CASE WHEN pg_catalog.cardinality(v_edges) = 0 THEN 'false'
                WHEN pg_catalog.cardinality(v_edges) <= 256 THEN
                    (SELECT '(' || pg_catalog.string_agg(pg_catalog.format(
                                '(i."timestamp" >= $9[%1$s] AND i."timestamp" < $9[%1$s] + interval ''1 hour'')', k),
                                ' OR ') || ')'
                     FROM pg_catalog.generate_series(1, pg_catalog.cardinality(v_edges)) AS k)
                ELSE 'i."timestamp" >= $9[1] AND i."timestamp" < $9[pg_catalog.cardinality($9)] + interval ''1 hour'' '
                     'AND pg_catalog.date_trunc(''hour'', i."timestamp", ''UTC'') = ANY ($9)' END;
$new$]];
    v_k integer;
BEGIN
    IF pg_catalog.strpos(v_def, v_edits[3][2]) > 0 THEN
        RETURN;  -- applied already
    END IF;
    FOR v_k IN 1 .. pg_catalog.array_length(v_edits, 1) LOOP
        IF pg_catalog.strpos(v_def, v_edits[v_k][1]) = 0 THEN
            RAISE EXCEPTION 'migration 014: interaction_metrics_tz is not the function migration 011 created (edit % of 3 does not apply)', v_k
                USING HINT = 'Run migration 011 again, then this one.';
        END IF;
        v_def := pg_catalog.replace(v_def, v_edits[v_k][1], v_edits[v_k][2]);
    END LOOP;
    EXECUTE v_def;
END
$patch$;
