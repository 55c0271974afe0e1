-- Rollups: a statement that wrote nothing takes no turn at folding.
--
-- Since 012 every writing statement takes at least one unit of assistant_db.rollup_writes
-- (one per 250 rows), and the statement reaching a multiple of 64 folds: a fold gathers
-- about 16,000 rows. But a statement that wrote no row took its unit too. The logger's
-- batch is three statements (its interactions by COPY, then log_interactions with no
-- interaction and the batch's escalations), so 500 logged rows took four units instead of
-- three, and with them the folds came about every 12,000 rows instead of 16,000 (counted
-- through 100,000 logged interactions: 13 folds; a fold's cost is mostly per rollup row
-- it touches, and the logger's batches touch the same hours over and over).
--
-- After this migration assistant_db.rollups_fold_due(0) is false and takes no unit; every
-- other count takes the units it took. Nothing else changes: the triggers call the rule
-- through rollups_after_write (013), whose sessions-only folds after a DELETE or UPDATE
-- do not depend on it.
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
