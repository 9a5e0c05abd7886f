-- 0010_change_notifications.sql
--
-- LISTEN/NOTIFY channels, raised by triggers so that writes made with plain SQL
-- (orchestrators inserting jobs, operators editing the catalog) wake the
-- gateways exactly like writes made through the registry API. NOTIFY is
-- transactional: listeners hear it only after the writing transaction commits,
-- and identical notifications within one transaction are delivered once.
--
--   channel 'llm_jobs_new'        payload ''   -- one per INSERT statement into llm_jobs
--   channel 'switchboard_config'  payload JSON, e.g.
--       {"table":"agents","op":"UPDATE","id":"<uuid>"}
--       {"table":"llm_models","op":"INSERT"}      -- statement level, no id
--       {"table":"llm_providers","op":"UPDATE"}
--
-- Workers treat the payload as a hint (refresh that agent, or reload the
-- catalog); a missed notification is covered by their poll/refresh fallback.
--
-- Deliberately NOT notified:
--   * llm_jobs UPDATEs (claims, completions, requeues): a notification per
--     queue transition would add a commit-time lock and queue traffic to the
--     hottest path. The gateway sends its own NOTIFY llm_jobs_new when it
--     requeues jobs, and its own "job done" notification per completion batch
--     if the API wants one.
--   * agents UPDATEs that touch only model_usage_stats / updated_at: the
--     gateway's batch completer writes those constantly, and they are not
--     configuration. The row-level trigger's WHEN clause filters them out
--     before any function is called.

-- New jobs: statement level, so a bulk INSERT ... SELECT of a million jobs
-- sends one notification, not a million.
CREATE FUNCTION notify_llm_jobs_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('llm_jobs_new', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER llm_jobs_notify_new
    AFTER INSERT ON llm_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_llm_jobs_new();

-- Catalog tables: statement level (bulk imports send one notification).
CREATE FUNCTION notify_config_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_config',
                      jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER llm_models_notify_config
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llm_models
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();

CREATE TRIGGER llm_providers_notify_config
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON llm_providers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();

-- Agents: row level, carrying the agent id, and filtered by WHEN so that usage
-- stats updates never call the function.
CREATE FUNCTION notify_agent_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    agent_id uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        agent_id := OLD.id;
    ELSE
        agent_id := NEW.id;
    END IF;
    PERFORM pg_notify('switchboard_config',
                      jsonb_build_object('table', 'agents', 'op', TG_OP, 'id', agent_id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_notify_config_insert_delete
    AFTER INSERT OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION notify_agent_config();

CREATE TRIGGER agents_notify_config_update
    AFTER UPDATE ON agents
    FOR EACH ROW
    WHEN (   OLD.model_config    IS DISTINCT FROM NEW.model_config
          OR OLD.status          IS DISTINCT FROM NEW.status
          OR OLD.preferred_model IS DISTINCT FROM NEW.preferred_model
          OR OLD.temperature     IS DISTINCT FROM NEW.temperature
          OR OLD.max_tokens      IS DISTINCT FROM NEW.max_tokens
          OR OLD.id              IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION notify_agent_config();

CREATE TRIGGER agents_notify_config_truncate
    AFTER TRUNCATE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();
