-- Rollups: the sessions' fold reads each session's stored state once, and adds the new
-- sessions by a plain INSERT.
--
-- The fold (rollups_compact, 011) gives every session its deltas speak of its new state
-- in one statement. It looked the stored sessions up twice: once to merge them with the
-- deltas (rollup_sessions_next_sql), once more to compare the old state with the new
-- (the `stored` common table expression); and it wrote the new state with
-- INSERT … ON CONFLICT DO UPDATE, which probes the key before each insert, for sessions
-- it already knew were new. The sessions are most of a fold's cost under an import or a
-- logger (their interactions start most of the sessions they belong to): on a copy of
-- 10,000,000 rows, the sessions' part of a fold of 14,000 imported interactions (8,181
-- sessions) took 98 ms, against 74 ms after this migration (medians of three, each in a
-- transaction rolled back over the same deltas).
--
-- After it:
--
--   * rollup_sessions_next_sql(p_stored) reads the stored state from `p_stored` (a
--     relation or a common table expression holding at least the stored rows of the
--     sessions the deltas speak of); rollup_sessions_next_sql() is that over the table,
--     the same text as before, for the metrics' pending sessions.
--   * The fold reads the stored rows of the sessions its deltas speak of once, into
--     `stored`, and merges, compares and writes from that: new sessions by INSERT, known
--     ones whose state changed by UPDATE, gone ones by DELETE. One fold runs at a time
--     (the advisory lock (2026, 11), taken by every caller), so nothing else inserts a
--     session between the read and the write.
--
-- What a fold computes does not change: the same rows, the same counts in the hours and
-- days. rollups_compact is patched from its stored definition, as 014 patches
-- interaction_metrics_tz.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

CREATE OR REPLACE FUNCTION assistant_db.rollup_sessions_next_sql(p_stored text)
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
                  FROM %s AS s
                  WHERE s.session_id IN (SELECT d.session_id FROM deltas AS d WHERE NOT d.recompute)
                    AND s.session_id NOT IN (SELECT r.session_id FROM redo AS r)) AS c
            ORDER BY c.session_id, c.first_at, c.first_id) AS merged
        UNION ALL
        %s
        $q$, p_stored, assistant_db.rollup_sessions_truth_sql('SELECT * FROM redo'))
$$;

COMMENT ON FUNCTION assistant_db.rollup_sessions_next_sql(text) IS
    'assistant-db rollups: the next state of the sessions the deltas speak of, their stored state read from p_stored (migration 017).';

CREATE OR REPLACE FUNCTION assistant_db.rollup_sessions_next_sql()
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT assistant_db.rollup_sessions_next_sql('assistant_db.rollup_sessions')
$$;

REVOKE ALL ON FUNCTION assistant_db.rollup_sessions_next_sql(text) FROM PUBLIC, anon, authenticated, service_role;

DO $patch$
DECLARE
    v_def text := pg_catalog.pg_get_functiondef('assistant_db.rollups_compact(boolean)'::regprocedure);
    -- Pairs of (what 011 wrote, what replaces it).
    v_edits constant text[][] := ARRAY[
        -- The stored rows, read once, before the new state that merges them.
        [$old$        touched AS MATERIALIZED (SELECT DISTINCT d.session_id FROM deltas AS d),
        truth AS MATERIALIZED (%s),
        stored AS MATERIALIZED (
            SELECT s.* FROM assistant_db.rollup_sessions AS s JOIN touched AS t ON t.session_id = s.session_id),
$old$,
         $new$        stored AS MATERIALIZED (
            SELECT s.* FROM assistant_db.rollup_sessions AS s
            WHERE s.session_id IN (SELECT d.session_id FROM deltas AS d)),
        truth AS MATERIALIZED (%s),
$new$],
        -- New sessions inserted, changed ones updated: the fold knows which is which.
        [$old$        kept AS (
            INSERT INTO assistant_db.rollup_sessions AS s SELECT * FROM truth
            ON CONFLICT (session_id) DO UPDATE SET
                first_id = EXCLUDED.first_id, first_at = EXCLUDED.first_at,
                assistant_mode = EXCLUDED.assistant_mode, intent_name = EXCLUDED.intent_name,
                intent_category = EXCLUDED.intent_category, escalated = EXCLUDED.escalated
            WHERE (s.first_id, s.first_at, s.assistant_mode, s.intent_name, s.intent_category, s.escalated)
                  IS DISTINCT FROM (EXCLUDED.first_id, EXCLUDED.first_at, EXCLUDED.assistant_mode,
                                    EXCLUDED.intent_name, EXCLUDED.intent_category, EXCLUDED.escalated)),
$old$,
         $new$        added AS (
            INSERT INTO assistant_db.rollup_sessions
            SELECT t.* FROM truth AS t WHERE NOT EXISTS (SELECT FROM stored AS o WHERE o.session_id = t.session_id)),
        kept AS (
            UPDATE assistant_db.rollup_sessions AS s SET
                first_id = t.first_id, first_at = t.first_at,
                assistant_mode = t.assistant_mode, intent_name = t.intent_name,
                intent_category = t.intent_category, escalated = t.escalated
            FROM truth AS t JOIN stored AS o ON o.session_id = t.session_id
            WHERE s.session_id = t.session_id
              AND (o.first_id, o.first_at, o.assistant_mode, o.intent_name, o.intent_category, o.escalated)
                  IS DISTINCT FROM (t.first_id, t.first_at, t.assistant_mode, t.intent_name,
                                    t.intent_category, t.escalated)),
$new$],
        -- The merge reads the stored rows from `stored`.
        [$old$        assistant_db.rollup_sessions_next_sql())
$old$,
         $new$        assistant_db.rollup_sessions_next_sql('stored'))
$new$]];
    v_k integer;
BEGIN
    IF pg_catalog.strpos(v_def, v_edits[3][2]) > 0 THEN
        RETURN;  -- applied already
    END IF;
    FOR v_k IN 1 .. pg_catalog.array_length(v_edits, 1) LOOP
        IF pg_catalog.strpos(v_def, v_edits[v_k][1]) = 0 THEN
            RAISE EXCEPTION 'migration 017: rollups_compact is not the function migration 011 created (edit % of 3 does not apply)', v_k
                USING HINT = 'Run migration 011 again, then this one.';
        END IF;
        v_def := pg_catalog.replace(v_def, v_edits[v_k][1], v_edits[v_k][2]);
    END LOOP;
    EXECUTE v_def;
END
$patch$;
