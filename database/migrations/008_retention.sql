-- Retention and erasure: deleting what may no longer be kept, and a trail of every
-- deletion that holds no personal data.
--
-- After this migration:
--
--   * public.retention_step(run, batch) is the one place where retention deletes. It
--     deletes at most `batch` interactions older than the run's cutoff, oldest first
--     (by `timestamp`, on its index), with their escalations, and returns. Rows a
--     writer holds locked are skipped (FOR UPDATE SKIP LOCKED), never waited for, so a
--     step never blocks a writer and a writer waits at most for one short step. Each
--     call is its own transaction: whoever drives it (the CLI, `serve`, pg_cron) commits
--     after every batch, and a run that is interrupted has deleted whole batches only;
--     running again finishes the job. A row without a `timestamp` is judged by its
--     `created_at`; a row with neither is kept. Escalations of no interaction go when
--     their `created_at` is older than the cutoff. Knowledge documents are not touched.
--   * public.retention_start(older_than, via) opens a run (fixing its cutoff) and
--     public.retention_preview(older_than) counts what a run would delete.
--   * public.run_retention(older_than, batch, via) is a PROCEDURE for pg_cron: it opens
--     a run and calls retention_step until nothing is left, committing after each
--     batch. A procedure that commits may not be SECURITY DEFINER nor carry a SET
--     clause, so it pins nothing and runs with its caller's rights (the owner's, under
--     pg_cron); it calls only schema-qualified functions and uses no operator. Schedule
--     it with one statement per job (pg_cron runs a string of several statements as one
--     transaction, in which COMMIT fails):
--         SELECT cron.schedule('assistant-db-retention', '17 3 * * *',
--             $$CALL public.run_retention(interval '400 days', p_via => 'pg_cron')$$);
--   * public.erase_customer_data(target, id, spool entries, spool dead letters, via)
--     deletes one session's interactions (or one interaction) and their escalations
--     (GDPR art. 17) in one transaction, and says how many and when the latest was.
--   * assistant_db.retention_log records each retention run and each erasure: when,
--     which policy and cutoff or which target (as a keyed hash of its id: HMAC-SHA256
--     under a random key drawn once per database and kept in assistant_db.settings, so
--     that guessable ids cannot be recovered from the log), the counts, who ran it and
--     through what. public.retention_log(limit, session, interaction) lists it. Neither
--     the table nor the key is readable by anon, authenticated or service_role; the
--     functions above are executable by service_role only (and the owner), run with
--     their owner's rights where they write the log, and pin search_path.
--
-- The spec's tables, columns and constraints are not changed; one partial index is
-- added (rows without a timestamp, by created_at), so that retention finds them without
-- reading the table. Idempotent: it may be pasted into the SQL editor any number of times.

-- 1. The trail, and the key its hashes are made with. -----------------------------------

CREATE TABLE IF NOT EXISTS assistant_db.retention_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('retention', 'erasure')),
    started_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at timestamptz,
    run_by text NOT NULL,
    via text NOT NULL CHECK (via IN ('cli', 'serve', 'api', 'pg_cron', 'sql')),
    -- Retention: rows older than `policy` at the start, i.e. before `cutoff`.
    policy interval,
    cutoff timestamptz,
    -- Where the next step starts on the timestamp index (everything before it is done).
    resume_after timestamptz,
    batches integer NOT NULL DEFAULT 0,
    -- Erasure: 'session' or 'interaction', and the HMAC of its id (hex).
    target text,
    target_hash text,
    interactions bigint NOT NULL DEFAULT 0,
    escalations bigint NOT NULL DEFAULT 0,
    -- Erasure from a host that holds spools: entries and dead letters removed there.
    spool_entries bigint,
    spool_dead_letters bigint,
    CONSTRAINT retention_log_shape CHECK (
        (kind = 'retention' AND policy IS NOT NULL AND cutoff IS NOT NULL
             AND target IS NULL AND target_hash IS NULL)
        OR (kind = 'erasure' AND target IN ('session', 'interaction')
             AND target_hash IS NOT NULL AND policy IS NULL AND cutoff IS NULL))
);
COMMENT ON TABLE assistant_db.retention_log IS
    'Each retention run and each erasure: when, the policy or a keyed hash of the erased id, counts. No personal data.';

CREATE INDEX IF NOT EXISTS retention_log_target_hash
    ON assistant_db.retention_log (target_hash) WHERE target_hash IS NOT NULL;

-- 244 random bits (two version-4 UUIDs), drawn once; pasting this file again keeps them.
INSERT INTO assistant_db.settings (name, value)
VALUES ('erasure_hash_key', pg_catalog.to_jsonb(pg_catalog.replace(
    pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', '')))
ON CONFLICT (name) DO NOTHING;

-- Rows without a timestamp, by created_at: retention's second path (few rows, so small).
CREATE INDEX IF NOT EXISTS idx_interactions_untimed_created_at
    ON public.interactions (created_at) WHERE "timestamp" IS NULL;

-- 2. Keyed hashes. -----------------------------------------------------------------------

-- HMAC-SHA256 (RFC 2104) over the built-in sha256, so that no extension is needed.
CREATE OR REPLACE FUNCTION assistant_db.hmac_sha256(p_key bytea, p_message bytea)
RETURNS bytea
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key bytea := p_key;
    v_inner bytea;
    v_outer bytea;
BEGIN
    IF pg_catalog.length(v_key) > 64 THEN
        v_key := pg_catalog.sha256(v_key);
    END IF;
    v_key := v_key || pg_catalog.decode(pg_catalog.repeat('00', 64 - pg_catalog.length(v_key)), 'hex');
    v_inner := v_key;
    v_outer := v_key;
    FOR i IN 0 .. 63 LOOP
        v_inner := pg_catalog.set_byte(v_inner, i, pg_catalog.int4xor(pg_catalog.get_byte(v_key, i), 54));
        v_outer := pg_catalog.set_byte(v_outer, i, pg_catalog.int4xor(pg_catalog.get_byte(v_key, i), 92));
    END LOOP;
    RETURN pg_catalog.sha256(v_outer || pg_catalog.sha256(v_inner || p_message));
END;
$$;

-- The hash the trail records for an erased id: HMAC-SHA256(key, '<target>:<id>'), hex.
CREATE OR REPLACE FUNCTION assistant_db.erasure_hash(p_target text, p_id text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.encode(assistant_db.hmac_sha256(
               pg_catalog.decode(s.value #>> '{}', 'hex'),
               pg_catalog.convert_to(p_target || ':' || p_id, 'UTF8')), 'hex')
    FROM assistant_db.settings AS s
    WHERE s.name = 'erasure_hash_key'
$$;

-- 3. Retention. ---------------------------------------------------------------------------

-- Refuses a policy that would delete recent rows by mistake (`interval '400'` is
-- 400 seconds): at least one day.
CREATE OR REPLACE FUNCTION assistant_db.check_retention_policy(p_older_than interval)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_older_than IS NULL
       OR pg_catalog.now() - p_older_than > pg_catalog.now() - interval '1 day' THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'older_than', 'must be at least 1 day',
                                    coalesce(p_older_than::text, 'null'));
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION assistant_db.check_via(p_via text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_via IS NULL OR p_via NOT IN ('cli', 'serve', 'api', 'pg_cron', 'sql') THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'via',
            'must be one of ''cli'', ''serve'', ''api'', ''pg_cron'', ''sql''',
            pg_catalog.to_json(p_via)::text);
    END IF;
END;
$$;

-- What a run with this policy would delete now: {"cutoff", "interactions", "escalations"}.
CREATE OR REPLACE FUNCTION public.retention_preview(p_older_than interval)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cutoff timestamptz;
    v_interactions bigint;
    v_escalations bigint;
BEGIN
    PERFORM assistant_db.check_retention_policy(p_older_than);
    v_cutoff := pg_catalog.now() - p_older_than;
    SELECT (SELECT count(*) FROM public.interactions AS i WHERE i."timestamp" < v_cutoff)
         + (SELECT count(*) FROM public.interactions AS i
            WHERE i."timestamp" IS NULL AND i.created_at < v_cutoff)
    INTO v_interactions;
    SELECT (SELECT count(*)
            FROM public.escalations AS e
            JOIN public.interactions AS i ON i.id = e.interaction_id
            WHERE i."timestamp" < v_cutoff
               OR (i."timestamp" IS NULL AND i.created_at < v_cutoff))
         + (SELECT count(*) FROM public.escalations AS e
            WHERE e.interaction_id IS NULL AND e.created_at < v_cutoff)
    INTO v_escalations;
    RETURN pg_catalog.jsonb_build_object(
        'cutoff', v_cutoff, 'interactions', v_interactions, 'escalations', v_escalations);
END;
$$;

-- Opens a run: records it in the trail with its cutoff, and returns
-- {"run", "cutoff", "interactions", "escalations"} (what it will delete, for progress).
CREATE OR REPLACE FUNCTION public.retention_start(p_older_than interval, p_via text DEFAULT 'sql')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_preview jsonb;
    v_run bigint;
BEGIN
    PERFORM assistant_db.check_via(p_via);
    v_preview := public.retention_preview(p_older_than);
    INSERT INTO assistant_db.retention_log (kind, run_by, via, policy, cutoff, resume_after)
    VALUES ('retention', assistant_db.calling_role(), p_via, p_older_than,
            (v_preview ->> 'cutoff')::timestamptz, '-infinity')
    RETURNING id INTO v_run;
    RETURN v_preview || pg_catalog.jsonb_build_object('run', v_run);
END;
$$;

-- One batch of a run: deletes at most p_batch interactions older than the run's cutoff
-- (oldest first, skipping rows another transaction holds), their escalations, and then
-- escalations of no interaction older than the cutoff; adds the counts to the trail.
-- Returns {"interactions", "escalations", "done"}; done when a batch came up short.
CREATE OR REPLACE FUNCTION public.retention_step(p_run bigint, p_batch integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run assistant_db.retention_log;
    v_ids uuid[];
    v_more uuid[];
    v_last timestamptz;
    v_orphans uuid[] := '{}';
    v_interactions bigint;
    v_escalations bigint;
    v_done boolean;
BEGIN
    IF p_batch IS NULL OR p_batch < 1 OR p_batch > 10000 THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'batch', 'must be between 1 and 10000',
                                    coalesce(p_batch::text, 'null'));
    END IF;
    SELECT * INTO v_run FROM assistant_db.retention_log AS l
    WHERE l.id = p_run AND l.kind = 'retention'
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'run', 'is not a retention run',
                                    coalesce(p_run::text, 'null'));
    END IF;
    IF v_run.finished_at IS NOT NULL THEN
        RETURN pg_catalog.jsonb_build_object('interactions', 0, 'escalations', 0, 'done', true);
    END IF;

    SELECT coalesce(pg_catalog.array_agg(t.id), '{}'), pg_catalog.max(t."timestamp")
    INTO v_ids, v_last
    FROM (SELECT i.id, i."timestamp"
          FROM public.interactions AS i
          WHERE i."timestamp" >= v_run.resume_after AND i."timestamp" < v_run.cutoff
          ORDER BY i."timestamp"
          LIMIT p_batch
          FOR UPDATE SKIP LOCKED) AS t;
    IF pg_catalog.cardinality(v_ids) < p_batch THEN
        SELECT coalesce(pg_catalog.array_agg(t.id), '{}') INTO v_more
        FROM (SELECT i.id
              FROM public.interactions AS i
              WHERE i."timestamp" IS NULL AND i.created_at < v_run.cutoff
              ORDER BY i.created_at
              LIMIT p_batch - pg_catalog.cardinality(v_ids)
              FOR UPDATE SKIP LOCKED) AS t;
        v_ids := v_ids || v_more;
    END IF;
    v_done := pg_catalog.cardinality(v_ids) < p_batch;
    IF v_done THEN
        SELECT coalesce(pg_catalog.array_agg(t.id), '{}') INTO v_orphans
        FROM (SELECT e.id
              FROM public.escalations AS e
              WHERE e.interaction_id IS NULL AND e.created_at < v_run.cutoff
              LIMIT p_batch - pg_catalog.cardinality(v_ids)
              FOR UPDATE SKIP LOCKED) AS t;
        v_done := pg_catalog.cardinality(v_ids) + pg_catalog.cardinality(v_orphans) < p_batch;
    END IF;

    -- Escalations first and counted; the foreign key's cascade would take them unseen.
    DELETE FROM public.escalations AS e
    WHERE e.interaction_id = ANY (v_ids) OR e.id = ANY (v_orphans);
    GET DIAGNOSTICS v_escalations = ROW_COUNT;
    DELETE FROM public.interactions AS i WHERE i.id = ANY (v_ids);
    GET DIAGNOSTICS v_interactions = ROW_COUNT;

    UPDATE assistant_db.retention_log AS l
    SET interactions = l.interactions + v_interactions,
        escalations = l.escalations + v_escalations,
        batches = l.batches + 1,
        resume_after = coalesce(v_last, l.resume_after),
        finished_at = CASE WHEN v_done THEN pg_catalog.clock_timestamp() END
    WHERE l.id = p_run;
    RETURN pg_catalog.jsonb_build_object(
        'interactions', v_interactions, 'escalations', v_escalations, 'done', v_done);
END;
$$;

-- For pg_cron (see the header): a whole run, committing after every batch.
CREATE OR REPLACE PROCEDURE public.run_retention(
    p_older_than interval, p_batch integer DEFAULT 1000, p_via text DEFAULT 'sql'
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_step jsonb;
BEGIN
    v_run := pg_catalog.jsonb_extract_path_text(public.retention_start(p_older_than, p_via), 'run')::bigint;
    COMMIT;
    LOOP
        v_step := public.retention_step(v_run, p_batch);
        COMMIT;
        EXIT WHEN pg_catalog.jsonb_extract_path_text(v_step, 'done')::boolean;
    END LOOP;
END;
$$;

-- 4. Erasure. -----------------------------------------------------------------------------

-- Deletes the interactions of one session (p_target 'session') or one interaction
-- ('interaction'), with their escalations, in one transaction, and records the erasure.
-- Waits for writers holding those rows (it must not miss one). The spool counts are
-- what the caller removed from this host's spools first. Returns {"log_id", "target",
-- "id_hash", "interactions", "escalations", "latest", "erased_at"}, where latest is the
-- newest timestamp (or created_at) among the rows erased: a recent one means the
-- session may still be logging.
CREATE OR REPLACE FUNCTION public.erase_customer_data(
    p_target text,
    p_id text,
    p_spool_entries bigint DEFAULT NULL,
    p_spool_dead_letters bigint DEFAULT NULL,
    p_via text DEFAULT 'sql'
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
    v_latest timestamptz;
    v_interactions bigint;
    v_escalations bigint;
    v_hash text;
    v_log bigint;
BEGIN
    PERFORM assistant_db.check_via(p_via);
    IF p_target IS NULL OR p_target NOT IN ('session', 'interaction') THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'target', 'must be one of ''session'', ''interaction''',
                                    pg_catalog.to_json(p_target)::text);
    END IF;
    IF p_id IS NULL OR p_id = '' THEN
        PERFORM assistant_db.refuse(NULL, NULL, p_target || '_id', 'is required', NULL);
    END IF;
    IF p_spool_entries < 0 OR p_spool_dead_letters < 0 THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'spool', 'counts must be at least 0', NULL);
    END IF;
    IF p_target = 'session' THEN
        IF pg_catalog.char_length(p_id) > 255 THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'session_id', 'must be at most 255 characters',
                                        pg_catalog.char_length(p_id)::text);
        END IF;
        SELECT coalesce(pg_catalog.array_agg(t.id), '{}'), pg_catalog.max(t.at)
        INTO v_ids, v_latest
        FROM (SELECT i.id, coalesce(i."timestamp", i.created_at) AS at
              FROM public.interactions AS i
              WHERE i.session_id = p_id
              FOR UPDATE) AS t;
    ELSE
        IF p_id !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'interaction_id', 'must be a UUID',
                                        pg_catalog.left(p_id, 40));
        END IF;
        SELECT coalesce(pg_catalog.array_agg(t.id), '{}'), pg_catalog.max(t.at)
        INTO v_ids, v_latest
        FROM (SELECT i.id, coalesce(i."timestamp", i.created_at) AS at
              FROM public.interactions AS i
              WHERE i.id = p_id::uuid
              FOR UPDATE) AS t;
    END IF;
    DELETE FROM public.escalations AS e WHERE e.interaction_id = ANY (v_ids);
    GET DIAGNOSTICS v_escalations = ROW_COUNT;
    DELETE FROM public.interactions AS i WHERE i.id = ANY (v_ids);
    GET DIAGNOSTICS v_interactions = ROW_COUNT;

    v_hash := assistant_db.erasure_hash(p_target,
        CASE WHEN p_target = 'interaction' THEN p_id::uuid::text ELSE p_id END);
    IF v_hash IS NULL THEN
        RAISE EXCEPTION 'assistant-db: the erasure hash key is missing from assistant_db.settings; paste migration 008 again'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO assistant_db.retention_log (kind, run_by, via, target, target_hash,
        interactions, escalations, spool_entries, spool_dead_letters, finished_at)
    VALUES ('erasure', assistant_db.calling_role(), p_via, p_target, v_hash,
        v_interactions, v_escalations, p_spool_entries, p_spool_dead_letters,
        pg_catalog.clock_timestamp())
    RETURNING id INTO v_log;
    RETURN pg_catalog.jsonb_build_object(
        'log_id', v_log, 'target', p_target, 'id_hash', v_hash,
        'interactions', v_interactions, 'escalations', v_escalations,
        'latest', v_latest, 'erased_at', pg_catalog.clock_timestamp());
END;
$$;

-- 5. Reading the trail. -------------------------------------------------------------------

-- The newest p_limit entries (1 to 1000), or those of one session or interaction, found
-- by the hash of its id. Never an id: the trail holds none.
CREATE OR REPLACE FUNCTION public.retention_log(
    p_limit integer DEFAULT 50,
    p_session_id text DEFAULT NULL,
    p_interaction_id text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_hash text;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'limit', 'must be between 1 and 1000',
                                    coalesce(p_limit::text, 'null'));
    END IF;
    IF p_session_id IS NOT NULL AND p_interaction_id IS NOT NULL THEN
        PERFORM assistant_db.refuse(NULL, NULL, 'session_id', 'give a session or an interaction, not both', NULL);
    END IF;
    IF p_session_id IS NOT NULL THEN
        v_hash := assistant_db.erasure_hash('session', p_session_id);
    ELSIF p_interaction_id IS NOT NULL THEN
        IF p_interaction_id !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            PERFORM assistant_db.refuse(NULL, NULL, 'interaction_id', 'must be a UUID',
                                        pg_catalog.left(p_interaction_id, 40));
        END IF;
        v_hash := assistant_db.erasure_hash('interaction', p_interaction_id::uuid::text);
    END IF;
    RETURN coalesce((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'id', l.id, 'kind', l.kind, 'started_at', l.started_at,
                   'finished_at', l.finished_at, 'run_by', l.run_by, 'via', l.via,
                   'policy', l.policy::text, 'cutoff', l.cutoff, 'batches', l.batches,
                   'target', l.target, 'target_hash', l.target_hash,
                   'interactions', l.interactions, 'escalations', l.escalations,
                   'spool_entries', l.spool_entries,
                   'spool_dead_letters', l.spool_dead_letters)
               ORDER BY l.id DESC)
        FROM (SELECT * FROM assistant_db.retention_log AS r
              WHERE v_hash IS NULL OR r.target_hash = v_hash
              ORDER BY r.id DESC
              LIMIT p_limit) AS l
    ), '[]'::jsonb);
END;
$$;

-- 6. Grants. ------------------------------------------------------------------------------

ALTER TABLE assistant_db.retention_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE assistant_db.retention_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE assistant_db.retention_log_id_seq FROM PUBLIC;

REVOKE ALL ON FUNCTION
    assistant_db.hmac_sha256(bytea, bytea),
    assistant_db.erasure_hash(text, text),
    assistant_db.check_retention_policy(interval),
    assistant_db.check_via(text),
    public.retention_preview(interval),
    public.retention_start(interval, text),
    public.retention_step(bigint, integer),
    public.erase_customer_data(text, text, bigint, bigint, text),
    public.retention_log(integer, text, text)
    FROM PUBLIC;
REVOKE ALL ON PROCEDURE public.run_retention(interval, integer, text) FROM PUBLIC;

-- Supabase's API roles get explicit grants on new objects, so they are named as well.
DO $grants$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON TABLE assistant_db.retention_log FROM %I', r);
            EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE assistant_db.retention_log_id_seq FROM %I', r);
            EXECUTE pg_catalog.format(
                'REVOKE ALL ON FUNCTION assistant_db.hmac_sha256(bytea, bytea), '
                'assistant_db.erasure_hash(text, text), '
                'assistant_db.check_retention_policy(interval), assistant_db.check_via(text), '
                'public.retention_preview(interval), public.retention_start(interval, text), '
                'public.retention_step(bigint, integer), '
                'public.erase_customer_data(text, text, bigint, bigint, text), '
                'public.retention_log(integer, text, text) FROM %I', r);
            EXECUTE pg_catalog.format(
                'REVOKE ALL ON PROCEDURE public.run_retention(interval, integer, text) FROM %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        GRANT EXECUTE ON FUNCTION
            public.retention_preview(interval),
            public.retention_start(interval, text),
            public.retention_step(bigint, integer),
            public.erase_customer_data(text, text, bigint, bigint, text),
            public.retention_log(integer, text, text)
            TO service_role;
    END IF;
END
$grants$;
