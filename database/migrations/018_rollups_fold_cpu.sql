-- Rollups: the fold is never compiled by JIT, and two histograms merge in one walk.
--
-- A fold (rollups_compact, 011) runs four statements over the pending deltas. On a copy
-- of 10,000,000 rows (the scale benchmark's traffic), the planner's estimate for the
-- sessions' statement, fed by the delta tables' statistics (which swing between empty
-- and the size of the largest batch), sometimes crossed jit_above_cost, and PostgreSQL
-- then compiled 180 functions for it: 53–55 ms of compiling in a fold that takes about
-- 180 ms without. Of fifteen runs of the same fold (16,000 demo interactions of one day
-- inserted, then folded, in a transaction rolled back), ten took 261–309 ms and five
-- 177–203 ms; with jit off, 177–187 ms in six. A fold is many small lookups and short
-- aggregations, where compiling cannot pay for itself.
--
-- And assistant_db.histogram_merge added two histograms with a query (unnest both, group
-- by bucket, aggregate back), run for each rollup row a fold updates (683 hour and day
-- rows and 46 rows of the modes in that fold). Both are sorted by bucket, so a walk over
-- the two arrays at once gives the same result: 1,946 merges of stored rows took 80 ms
-- against 107 ms, and the fold above a median of 188 ms against 200 ms (eight each, jit
-- off in both). With this migration, that fold took 168–189 ms in eight runs (median
-- 180 ms), JIT allowed by the database as before.
--
-- After this migration:
--
--   * rollups_compact runs with jit = off, wherever it is called from (the writers'
--     statements, rollups_fold, an erasure's sessions fold).
--   * histogram_merge walks the two histograms when each has its buckets strictly
--     ascending, no NULL, and as many counts as buckets, in arrays of one dimension
--     subscripted from 1 (what the fold and the build write); anything else it adds
--     by bucket as before, so that its result is the same for every input: the buckets
--     of either, ascending, with the sums of their counts, a bucket whose sum is zero
--     left out.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

ALTER FUNCTION assistant_db.rollups_compact(boolean) SET jit = off;

CREATE OR REPLACE FUNCTION assistant_db.histogram_merge(
    p_buckets smallint[], p_counts bigint[], q_buckets smallint[], q_counts bigint[],
    OUT buckets smallint[], OUT counts bigint[])
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_np constant integer := coalesce(pg_catalog.cardinality(p_buckets), 0);
    v_nq constant integer := coalesce(pg_catalog.cardinality(q_buckets), 0);
    v_i integer := 1;
    v_j integer := 1;
    v_k integer := 0;
    v_b smallint;
    v_n bigint;
    -- The last bucket taken from each: the next must be greater, or the walk stops.
    v_last_p smallint;
    v_last_q smallint;
    -- Whether the two can be walked.
    v_walk boolean := false;
BEGIN
    buckets := '{}';
    counts := '{}';
    -- One dimension each, subscripts from 1 (or empty, or NULL), as many counts as
    -- buckets; then no NULL in them (array_position refuses more dimensions).
    IF v_np = coalesce(pg_catalog.cardinality(p_counts), 0)
       AND v_nq = coalesce(pg_catalog.cardinality(q_counts), 0)
       AND coalesce(pg_catalog.array_ndims(p_buckets), 1) = 1 AND coalesce(pg_catalog.array_lower(p_buckets, 1), 1) = 1
       AND coalesce(pg_catalog.array_ndims(p_counts), 1) = 1 AND coalesce(pg_catalog.array_lower(p_counts, 1), 1) = 1
       AND coalesce(pg_catalog.array_ndims(q_buckets), 1) = 1 AND coalesce(pg_catalog.array_lower(q_buckets, 1), 1) = 1
       AND coalesce(pg_catalog.array_ndims(q_counts), 1) = 1 AND coalesce(pg_catalog.array_lower(q_counts, 1), 1) = 1
    THEN
        v_walk := pg_catalog.array_position(p_buckets, NULL) IS NULL
                  AND pg_catalog.array_position(p_counts, NULL) IS NULL
                  AND pg_catalog.array_position(q_buckets, NULL) IS NULL
                  AND pg_catalog.array_position(q_counts, NULL) IS NULL;
    END IF;
    IF v_walk THEN
        WHILE v_i <= v_np OR v_j <= v_nq LOOP
            IF v_j > v_nq OR (v_i <= v_np AND p_buckets[v_i] < q_buckets[v_j]) THEN
                v_b := p_buckets[v_i];
                v_n := p_counts[v_i];
                EXIT WHEN v_b <= v_last_p;
                v_last_p := v_b;
                v_i := v_i + 1;
            ELSIF v_i > v_np OR q_buckets[v_j] < p_buckets[v_i] THEN
                v_b := q_buckets[v_j];
                v_n := q_counts[v_j];
                EXIT WHEN v_b <= v_last_q;
                v_last_q := v_b;
                v_j := v_j + 1;
            ELSE
                v_b := p_buckets[v_i];
                EXIT WHEN v_b <= v_last_p OR v_b <= v_last_q;
                v_n := p_counts[v_i] + q_counts[v_j];
                v_last_p := v_b;
                v_last_q := v_b;
                v_i := v_i + 1;
                v_j := v_j + 1;
            END IF;
            IF v_n <> 0 THEN
                v_k := v_k + 1;
                buckets[v_k] := v_b;
                counts[v_k] := v_n;
            END IF;
        END LOOP;
        IF v_i > v_np AND v_j > v_nq THEN
            RETURN;
        END IF;
    END IF;
    -- Not two sorted histograms (or the walk met a bucket out of order): added by bucket.
    SELECT coalesce(array_agg(x.b ORDER BY x.b), '{}'), coalesce(array_agg(x.n ORDER BY x.b), '{}')
    INTO buckets, counts
    FROM (SELECT u.b, sum(u.n)::bigint AS n
          FROM (SELECT * FROM ROWS FROM (pg_catalog.unnest(p_buckets), pg_catalog.unnest(p_counts)) AS a(b, n)
                UNION ALL
                SELECT * FROM ROWS FROM (pg_catalog.unnest(q_buckets), pg_catalog.unnest(q_counts)) AS c(b, n)) AS u
          GROUP BY u.b
          HAVING sum(u.n) <> 0) AS x;
END;
$$;
