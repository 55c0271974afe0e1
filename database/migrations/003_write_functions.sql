-- Writes through one function per kind of record, so that every transport (direct
-- PostgreSQL and the REST API) inserts the same way: idempotently by client-generated
-- id, atomically per call, with the spec's defaults for whatever the caller leaves out.
-- Idempotent: safe to paste into the Supabase SQL editor more than once.

CREATE OR REPLACE FUNCTION public.log_interactions(
    p_interactions jsonb,
    p_escalations jsonb DEFAULT '[]'::jsonb
) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    n_interactions integer;
    n_escalations integer;
BEGIN
    IF jsonb_typeof(p_interactions) IS DISTINCT FROM 'array'
       OR jsonb_typeof(p_escalations) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'log_interactions expects two JSON arrays'
            USING ERRCODE = '22023';
    END IF;

    INSERT INTO public.interactions (
        id, "timestamp", assistant_mode, session_id, user_query, intent_name,
        intent_category, classification_reason, step_1_intent_completed,
        step_2_routing_decision, step_3_retrieval_performed, step_4_response_generated,
        step_5_confidence_score, step_6_escalation_triggered, outcome, confidence_score,
        escalation_reason, response_text, citations, retrieved_chunks_count,
        processing_time_ms, created_at)
    SELECT
        coalesce(r.id, gen_random_uuid()), coalesce(r."timestamp", now()), r.assistant_mode,
        r.session_id, r.user_query, r.intent_name, r.intent_category, r.classification_reason,
        coalesce(r.step_1_intent_completed, false), r.step_2_routing_decision,
        coalesce(r.step_3_retrieval_performed, false), coalesce(r.step_4_response_generated, false),
        r.step_5_confidence_score, coalesce(r.step_6_escalation_triggered, false), r.outcome,
        r.confidence_score, r.escalation_reason, r.response_text, r.citations,
        r.retrieved_chunks_count, r.processing_time_ms, coalesce(r.created_at, now())
    FROM jsonb_populate_recordset(NULL::public.interactions, p_interactions) AS r
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n_interactions = ROW_COUNT;

    INSERT INTO public.escalations (id, interaction_id, trigger_type, escalation_reason, created_at)
    SELECT coalesce(r.id, gen_random_uuid()), r.interaction_id, r.trigger_type,
           r.escalation_reason, coalesce(r.created_at, now())
    FROM jsonb_populate_recordset(NULL::public.escalations, p_escalations) AS r
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n_escalations = ROW_COUNT;

    RETURN jsonb_build_object('interactions', n_interactions, 'escalations', n_escalations);
END;
$$;

COMMENT ON FUNCTION public.log_interactions(jsonb, jsonb) IS
    'Inserts interactions, then escalations, from JSON arrays of rows; rows whose id exists are skipped. Returns the counts inserted.';

CREATE OR REPLACE FUNCTION public.upsert_knowledge_documents(p_documents jsonb)
RETURNS TABLE (id uuid, inserted boolean)
LANGUAGE sql
SET search_path = ''
AS $$
    INSERT INTO public.knowledge_documents (
        id, openai_file_id, title, source_url, content_type, topic_collection,
        ingested_at, metadata)
    SELECT coalesce(r.id, gen_random_uuid()), r.openai_file_id, r.title, r.source_url,
           r.content_type, r.topic_collection, coalesce(r.ingested_at, now()), r.metadata
    FROM jsonb_populate_recordset(NULL::public.knowledge_documents, p_documents) AS r
    ON CONFLICT (openai_file_id) DO UPDATE SET
        title = EXCLUDED.title,
        source_url = EXCLUDED.source_url,
        content_type = EXCLUDED.content_type,
        topic_collection = EXCLUDED.topic_collection,
        ingested_at = EXCLUDED.ingested_at,
        metadata = EXCLUDED.metadata
    -- A row inserted by this statement has no deleting transaction yet (xmax = 0).
    RETURNING knowledge_documents.id, (knowledge_documents.xmax = 0);
$$;

COMMENT ON FUNCTION public.upsert_knowledge_documents(jsonb) IS
    'Registers knowledge documents keyed by openai_file_id: new ones are inserted, known ones updated. Returns each row''s id and whether it was new.';
