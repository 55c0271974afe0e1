-- Rollups: a statement that wrote nothing takes no turn at folding, and a turn left to
-- the writer is told to it.
--
-- Since 012 every writing statement takes at least one unit of assistant_db.rollup_writes
-- (one per 250 rows), and the statement reaching a multiple of 64 folds: a fold gathers
-- about 16,000 rows. But a statement that wrote no row took its unit too. The logger's
-- batch is three statements (its interactions by COPY, then log_interactions with no
-- interaction and the batch's escalations), so 500 logged rows took four units instead of
-- three, and the folds came about every 12,000 rows instead of 16,000 (counted through
-- 100,000 logged interactions: 13 folds; a fold's cost is mostly per rollup row it
-- touches, and the logger's batches touch the same hours over and over).
--
-- And since 015 a transaction that set `assistant_db.fold` to 'elsewhere' skips the fold
-- when its statement's turn comes, and its writer folds on a connection of its own; but
-- the writer could only guess when, by counting its own rows. A writer that wrote fewer
-- rows than that before it stopped (a short import, an assistant restarted before its
-- logger had written 16,000 rows) left the turns its statements took unfolded, and if
-- every writer was such a one, what was pending grew without bound, and every metrics
-- call added more of it.
--
-- After this migration:
--
--   * assistant_db.rollups_fold_due(0) is false and takes no unit; every other count
--     takes the units it took.
--   * A statement whose turn it is, in a transaction that left its fold elsewhere, sets
--     `assistant_db.fold_due` to 'true' for the rest of its transaction. The writer reads
--     it before committing and, once committed, folds with assistant_db.rollups_fold():
--     the turns stay the database's, whoever writes, about one per 16,000 rows.
--
-- Nothing else changes: the sessions-only folds after a DELETE or UPDATE, the locks, what
-- a writer that does not leave its fold elsewhere does.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

CREATE OR REPLACE FUNCTION assistant_db.rollups_fold_due(p_rows bigint)
RETURNS boolean
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The units this statement takes are consecutive unless another writer takes some in
    -- between; either way a multiple of 64 among them is due, and two writers that both
    -- see one only try the same lock. No row, no unit (and no row from generate_series,
    -- so max and min are NULL and the answer is false).
    SELECT coalesce(max(u.n) / 64 <> (min(u.n) - 1) / 64, false)
    FROM (SELECT pg_catalog.nextval('assistant_db.rollup_writes') AS n
          FROM pg_catalog.generate_series(1, CASE WHEN coalesce(p_rows, 0) <= 0 THEN 0
                                                  ELSE LEAST(64, (p_rows + 249) / 250) END)) AS u
$$;

REVOKE ALL ON FUNCTION assistant_db.rollups_fold_due(bigint) FROM PUBLIC, anon, authenticated, service_role;

COMMENT ON FUNCTION assistant_db.rollups_fold_due(bigint) IS
    'assistant-db rollups: takes a unit per 250 rows written (none for no row); true when the statement reaches a multiple of 64 (migrations 012, 016).';

CREATE OR REPLACE FUNCTION assistant_db.rollups_after_write(p_rows bigint, p_sessions text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_due boolean;
BEGIN
    IF p_sessions IS NULL OR p_sessions NOT IN ('none', 'try', 'wait') THEN
        RAISE EXCEPTION 'assistant-db: rollups_after_write: sessions must be one of none, try, wait (got %)',
            coalesce(p_sessions, 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- At REPEATABLE READ the fold could meet rows another fold changed after the snapshot.
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN;
    END IF;
    -- The units are taken first, whoever folds: the turns stay where they were.
    v_due := assistant_db.rollups_fold_due(p_rows);
    IF v_due AND pg_catalog.current_setting('assistant_db.fold', true) = 'elsewhere' THEN
        -- The writer folds once it has committed; it reads this before.
        PERFORM pg_catalog.set_config('assistant_db.fold_due', 'true', true);
        v_due := false;
    END IF;
    IF v_due AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN
        PERFORM assistant_db.rollups_compact();
    ELSIF p_sessions = 'try' AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN
        PERFORM assistant_db.rollups_compact(true);
    ELSIF p_sessions = 'wait' THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(2026, 11);
        PERFORM assistant_db.rollups_compact(true);
    END IF;
END;
$$;

COMMENT ON FUNCTION assistant_db.rollups_after_write(bigint, text) IS
    'assistant-db rollups: what a writing statement does after its deltas (migrations 013, 015, 016): fold when due, or tell a transaction that left its fold elsewhere (assistant_db.fold_due), and the sessions by none/try/wait.';

REVOKE ALL ON FUNCTION assistant_db.rollups_after_write(bigint, text) FROM PUBLIC, anon, authenticated, service_role;
