-- Rollups: a writer may fold beside its batches instead of inside them.
--
-- Since 012 the statement whose rows bring the written total to the next 16,000 or so
-- folds the pending deltas, inside its own transaction (0.2-0.45 s on the benchmark's
-- machine). `assistant-db import` writes three batches at a time but commits them in
-- input order, so the batches behind a folding one finish writing and wait for it, and
-- no new batch starts: while a fold ran, a core stood idle (sampled through one import of
-- 100,000 rows: a fold ran in 17 % of its time, and in 57 % of that only one of its
-- connections was active, against 30 % of the time without the rollups' triggers).
--
-- After this migration:
--
--   * A transaction that sets `assistant_db.fold` to 'elsewhere' (SET LOCAL) does not fold
--     when its statement's turn comes; everything else of the rule stays: the units are
--     counted, a DELETE still folds the sessions it erased (013), an UPDATE still tries to.
--     Nothing else changes for a writer that does not set it (PostgREST, the SQL editor,
--     the spec's wrapper), and the rollups stay exact either way: what is not folded is
--     pending, and every metrics call adds what is pending.
--   * assistant_db.rollups_fold() folds what is pending now, unless another fold is
--     running (then false, and the pending deltas go to that one or the next); at READ
--     COMMITTED only, like every fold. The writer that set 'elsewhere' calls it, on a
--     connection of its own, about once per 16,000 rows it wrote. Only the owner may call
--     it (as every function of the schema assistant_db).
--   * A writer that sets 'elsewhere' and never folds leaves its deltas pending until a
--     writer that folds in its statements reaches its turn: metrics calls add more while
--     they wait, and stay exact.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

CREATE OR REPLACE FUNCTION assistant_db.rollups_after_write(p_rows bigint, p_sessions text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
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
    IF assistant_db.rollups_fold_due(p_rows)
       AND pg_catalog.current_setting('assistant_db.fold', true) IS DISTINCT FROM 'elsewhere'
       AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN
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
    'assistant-db rollups: what a writing statement does after its deltas (migrations 013, 015): fold when due unless the transaction set assistant_db.fold = elsewhere, and the sessions by none/try/wait.';

CREATE OR REPLACE FUNCTION assistant_db.rollups_fold()
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed'
       OR NOT pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN
        RETURN false;
    END IF;
    PERFORM assistant_db.rollups_compact();
    RETURN true;
END;
$$;

COMMENT ON FUNCTION assistant_db.rollups_fold() IS
    'assistant-db rollups: folds the pending deltas now, unless another fold runs (false); for writers that set assistant_db.fold = elsewhere (migration 015).';

REVOKE ALL ON FUNCTION assistant_db.rollups_fold() FROM PUBLIC, anon, authenticated, service_role;
