-- Rollups: what a write does after its deltas is decided in one function, and an erasure
-- waits for the fold that removes the erased sessions' ids.
--
-- In 011 and 012 every trigger function of the rollups carried its own copy of the rule
-- for folding, generated into it; changing the rule meant generating them all again.
-- And after a DELETE of interactions the trigger folded the sessions only if no other
-- fold was running: when one was, the ids of the sessions it erased stayed in
-- rollup_sessions (and in a delta) until the next fold, which may be about 16,000 written
-- rows away. An erasure (`assistant-db forget`, erase_customer_data, retention) left the
-- id it erased in the database.
--
-- After this migration:
--
--   * assistant_db.rollups_after_write(rows, sessions) holds the rule, and every trigger
--     function of the rollups ends by calling it. A full fold when rollups_fold_due says
--     so (012) and no other fold is running; otherwise, by what the trigger asks of the
--     sessions: 'none' (inserts; escalations), 'try' (an UPDATE of interactions: fold
--     the sessions if no other fold is running) or 'wait' (a DELETE of interactions: wait
--     for the running fold to end, then fold the sessions, so that no erased session's id
--     outlives the statement that erased it). READ COMMITTED only, as before; at
--     REPEATABLE READ or SERIALIZABLE nothing folds, and an erasure in such a transaction
--     leaves its sessions' deltas to the next fold.
--   * A DELETE of interactions may so wait for a fold (about 0.2 s for 16,000 rows' deltas
--     on the benchmark's machine). The fold never waits for the deleting transaction: it
--     touches only the rollup tables, which the deleting transaction has not written
--     unless it folded itself (then it holds the lock and does not wait) or truncated the
--     interactions. A transaction that folded and then waits for a row that a waiting
--     DELETE's transaction holds, or one that truncated and then deletes while another
--     folds, is a deadlock, which PostgreSQL breaks by failing one of them (SQLSTATE
--     40P01): to retry, like any deadlock.
--   * assistant_db.rollups_create_triggers() generates the trigger functions (011's
--     generator, with the call above for the rule); a later migration changes the rule by
--     replacing rollups_after_write alone.
--
-- Idempotent: it may be pasted into the SQL editor any number of times.

-- 1. The rule. ---------------------------------------------------------------------------

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
    IF assistant_db.rollups_fold_due(p_rows) AND pg_catalog.pg_try_advisory_xact_lock(2026, 11) THEN
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
    'assistant-db rollups: what a writing statement does after its deltas (migration 013): fold when due, and the sessions by none/try/wait.';

-- 2. The trigger functions, generated. ----------------------------------------------------

CREATE OR REPLACE FUNCTION assistant_db.rollups_create_triggers()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $function$
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
    -- appends its deltas, counts the rows it wrote (v_rows), then leaves the rest to
    -- rollups_after_write with what it asks of the sessions' fold (f.sessions).
    FOR v_body IN
        SELECT pg_catalog.format(
            'CREATE OR REPLACE FUNCTION assistant_db.%s() RETURNS trigger LANGUAGE plpgsql '
            'SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS %L',
            f.name, 'DECLARE v_rows bigint := 0; BEGIN ' || f.body
                    || pg_catalog.format(' PERFORM assistant_db.rollups_after_write(v_rows, %L); RETURN NULL; END;',
                                         f.sessions))
        FROM (VALUES
            ('rollups_interactions_inserted', 'none',
             assistant_db.rollup_write_sql(v_inserted, v_sessions_inserted, false)),
            -- The cascade deletes the escalations of the deleted interactions, and their
            -- trigger fires after this one, when the interactions are gone: this one sets
            -- their groups aside for it, in a temporary table emptied at commit and by
            -- the next such statement. (The tests' rollups_check would show it if
            -- PostgreSQL changed that order.)
            ('rollups_interactions_deleted', 'wait',
             assistant_db.rollup_write_sql(v_deleted, v_sessions_recompute, false)
             || ' IF pg_catalog.to_regclass(''pg_temp.rollup_deleted'') IS NULL THEN '
                'CREATE TEMPORARY TABLE rollup_deleted (id uuid NOT NULL, "timestamp" timestamptz, '
                'assistant_mode text NOT NULL, intent_name text, intent_category text, '
                'confidence_score double precision) ON COMMIT DELETE ROWS; END IF; '
                'DELETE FROM pg_temp.rollup_deleted; '
                'INSERT INTO pg_temp.rollup_deleted SELECT o.id, o."timestamp", o.assistant_mode, '
                'o.intent_name, o.intent_category, NULL FROM old_rows AS o;'),
            ('rollups_interactions_updated', 'try',
             assistant_db.rollup_write_sql(v_changed, v_sessions_recompute, true)),
            -- An escalation counts in its interaction's group as of now: the interaction is
            -- locked FOR SHARE, so that an UPDATE moving it to another group (whose trigger
            -- moves its escalations) waits for this transaction, or this one for it.
            ('rollups_escalations_inserted', 'none',
             'SELECT count(*) INTO v_rows FROM new_rows; '
             || assistant_db.rollup_delta_sql('triggers',
                 'SELECT 1 AS sign, i.*, e.trigger_type FROM new_rows AS e '
                 'JOIN public.interactions AS i ON i.id = e.interaction_id FOR SHARE OF i')),
            -- An escalation whose interaction is gone was deleted by the cascade of that
            -- interaction's DELETE: its group is in what that statement set aside.
            ('rollups_escalations_deleted', 'none',
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
            ('rollups_escalations_updated', 'none',
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
        ) AS f(name, sessions, body)
    LOOP
        EXECUTE v_body;
    END LOOP;
END;
$function$;

COMMENT ON FUNCTION assistant_db.rollups_create_triggers() IS
    'assistant-db rollups: (re)creates the trigger functions of the rollups, which end with rollups_after_write (migration 013).';

SELECT assistant_db.rollups_create_triggers();

-- 3. Grants: the owner's. ----------------------------------------------------------------

REVOKE ALL ON FUNCTION
    assistant_db.rollups_after_write(bigint, text),
    assistant_db.rollups_create_triggers()
    FROM PUBLIC, anon, authenticated, service_role;
