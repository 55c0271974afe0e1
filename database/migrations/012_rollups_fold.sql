-- Rollups: the deltas are folded by the rows written, not by the statements.
--
-- Migration 011 folds the pending deltas into the rollups after every statement of 1,000
-- rows or more and after every 16th smaller one. A fold's cost is mostly per rollup row it
-- touches (each session, each hour's histogram), and the statements of one stretch of
-- time touch the same rows: `assistant-db import`, whose batches are 1,000 rows, folded
-- after every batch, and paid for its rollups about a fifth of its throughput.
--
-- After this migration:
--
--   * assistant_db.rollups_fold_due(rows) decides, for each writing statement, whether it
--     folds: the statement adds one unit to the sequence assistant_db.rollup_writes per
--     250 rows it wrote (at least one, at most 64), and the one whose units reach a
--     multiple of 64 folds. A fold so gathers about 16,000 rows, or a single statement of
--     16,000 rows or more; a logger's batches of 500 rows and their escalations fold
--     every twenty-odd batches. What is pending, which every metrics call adds to what
--     is folded, is so about 16,000 rows' deltas at most (twice that when a fold found
--     another one running and left its share to the next).
--   * The rollups' triggers are generated again as in 011, with that rule, and the
--     escalations' triggers now count their rows too (in 011 a statement of escalations
--     weighed as one small statement whatever its size, so that one INSERT of a million
--     escalations left its deltas for every metrics call to add until the 16th
--     statement after it). Nothing else of them changes: what they count, the deltas,
--     the locks, the sessions-only fold after a DELETE or UPDATE of interactions.
--   * The delta tables, emptied by every fold, are vacuumed by autovacuum after 5,000
--     dead rows instead of a fifth of the table, without the cost delay: the pages a
--     fold empties are what every metrics call scans until they are vacuumed.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

-- 1. The rule. --------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION assistant_db.rollups_fold_due(p_rows bigint)
RETURNS boolean
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The units this statement takes are consecutive unless another writer takes some in
    -- between; either way a multiple of 64 among them is due, and two writers that both
    -- see one only try the same lock.
    SELECT max(u.n) / 64 <> (min(u.n) - 1) / 64
    FROM (SELECT pg_catalog.nextval('assistant_db.rollup_writes') AS n
          FROM pg_catalog.generate_series(1, LEAST(64, GREATEST(1, (p_rows + 249) / 250)))) AS u
$$;

REVOKE ALL ON FUNCTION assistant_db.rollups_fold_due(bigint) FROM PUBLIC, anon, authenticated, service_role;

COMMENT ON SEQUENCE assistant_db.rollup_writes IS
    'assistant-db rollups: units of 250 written rows; the statement reaching a multiple of 64 folds the deltas (migration 012).';

-- 2. The triggers' functions, as in 011 but for when they fold. ---------------------------

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
    -- When to fold: see rollups_fold_due above; after a DELETE or UPDATE of
    -- interactions the sessions at least (an erasure leaves no session id behind), which
    -- keeps retention's batches short. READ COMMITTED only (at REPEATABLE READ the fold
    -- could meet rows another fold changed after the snapshot); never waiting for another
    -- fold.
    v_fold constant text :=
        ' IF pg_catalog.current_setting(''transaction_isolation'') = ''read committed'' THEN '
        'IF assistant_db.rollups_fold_due(v_rows) THEN '
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
    -- appends its deltas, then may fold what is pending into the rollups (v_fold), by the
    -- rows it wrote (v_rows; 011's escalation triggers left it at 0).
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
             'SELECT count(*) INTO v_rows FROM new_rows; '
             || assistant_db.rollup_delta_sql('triggers',
                 'SELECT 1 AS sign, i.*, e.trigger_type FROM new_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id FOR SHARE OF i')),
            -- An escalation whose interaction is gone was deleted by the cascade of that
            -- interaction's DELETE: its group is in what that statement set aside.
            ('rollups_escalations_deleted',
             'SELECT count(*) INTO v_rows FROM old_rows; '
             || assistant_db.rollup_delta_sql('triggers',
                 'SELECT -1 AS sign, i.*, e.trigger_type FROM old_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id FOR SHARE OF i')
             || ' IF pg_catalog.to_regclass(''pg_temp.rollup_deleted'') IS NOT NULL THEN '
             || assistant_db.rollup_delta_sql('triggers',
                    'SELECT -1 AS sign, d.*, e.trigger_type FROM old_rows AS e '
                    'JOIN pg_temp.rollup_deleted AS d ON d.id = e.interaction_id '
                    'WHERE NOT EXISTS (SELECT FROM public.interactions AS i WHERE i.id = e.interaction_id)')
             || ' END IF;'),
            ('rollups_escalations_updated',
             'SELECT count(*) INTO v_rows FROM new_rows; '
             || assistant_db.rollup_delta_sql('triggers',
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

-- 3. The delta tables' vacuum. ------------------------------------------------------------

ALTER TABLE assistant_db.rollup_hours_delta SET (
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE assistant_db.rollup_times_delta SET (
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE assistant_db.rollup_triggers_delta SET (
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE assistant_db.rollup_sessions_delta SET (
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_cost_delay = 0);
