-- 0016_config_changes.sql
--
-- Audit trail of configuration: every INSERT, UPDATE and DELETE of llm_models
-- and llm_providers, and of agents' model configuration (model_config and the
-- legacy preferred_model / temperature / max_tokens columns), as one row with
-- the row before and after (JSON), which fields changed, when, and who:
--
--   token_kind  'write_token' | 'unauthenticated'  (through the registry API)
--               'cli'                             (model-registry import-catalog)
--               'database'                        (anything else: plain SQL, migrations)
--   request_id  the API request's X-Request-Id (answered in every response)
--
-- Recorded by triggers, so writes that bypass the API are recorded too. The
-- API tells the trigger who is writing with transaction-local settings:
--   SELECT set_config('switchboard.token_kind', 'write_token', true),
--          set_config('switchboard.request_id', '<id>', true);
--
-- "Who changed this agent's model, and when":
--   SELECT changed_at, token_kind, request_id,
--          before -> 'model_config' ->> 'model_id' AS from_model,
--          after  -> 'model_config' ->> 'model_id' AS to_model
--     FROM config_changes
--    WHERE entity = 'agent' AND entity_id = '<agent uuid>'
--      AND 'model_config' = ANY (changed_fields)
--    ORDER BY id DESC;

CREATE TABLE config_changes (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity         text        NOT NULL CHECK (entity IN ('model', 'provider', 'agent')),
    -- model_id, provider name, or agent uuid (as text).
    entity_id      text        NOT NULL,
    action         text        NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    -- Top-level keys of before/after whose values differ (all keys on create/delete).
    changed_fields text[]      NOT NULL,
    before         jsonb,
    after          jsonb,
    token_kind     text        NOT NULL,
    request_id     text,
    changed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX config_changes_entity_idx ON config_changes (entity, entity_id, id DESC);

COMMENT ON TABLE config_changes IS
    'Audit trail of llm_models, llm_providers and agents'' model configuration: before/after JSON, changed fields, token kind, request id.';

CREATE FUNCTION record_config_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity_name text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    old_doc     jsonb;
    new_doc     jsonb;
    fields      text[];
    agent_keys  text[] := ARRAY['id', 'name', 'model_config', 'preferred_model', 'temperature', 'max_tokens'];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_doc := to_jsonb(OLD) - 'created_at' - 'updated_at' - 'locally_edited_fields';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_doc := to_jsonb(NEW) - 'created_at' - 'updated_at' - 'locally_edited_fields';
    END IF;
    IF entity_name = 'agent' THEN
        -- Only the model configuration (and id and name, so a trail reads by itself).
        old_doc := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(old_doc) WHERE key = ANY (agent_keys));
        new_doc := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(new_doc) WHERE key = ANY (agent_keys));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        fields := ARRAY(SELECT key FROM jsonb_each(new_doc)
                         WHERE new_doc -> key IS DISTINCT FROM old_doc -> key
                           AND (entity_name <> 'agent' OR key NOT IN ('id', 'name'))
                         ORDER BY key);
        IF cardinality(fields) = 0 THEN
            RETURN NULL;
        END IF;
    ELSE
        fields := ARRAY(SELECT jsonb_object_keys(coalesce(new_doc, old_doc)) ORDER BY 1);
    END IF;
    INSERT INTO config_changes (entity, entity_id, action, changed_fields, before, after, token_kind, request_id)
    VALUES (entity_name,
            coalesce(new_doc, old_doc) ->> key_column,
            CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            fields, old_doc, new_doc,
            coalesce(nullif(current_setting('switchboard.token_kind', true), ''), 'database'),
            nullif(current_setting('switchboard.request_id', true), ''));
    RETURN NULL;
END;
$$;

CREATE TRIGGER llm_models_config_changes
    AFTER INSERT OR UPDATE OR DELETE ON llm_models
    FOR EACH ROW EXECUTE FUNCTION record_config_change('model', 'model_id');

CREATE TRIGGER llm_providers_config_changes
    AFTER INSERT OR UPDATE OR DELETE ON llm_providers
    FOR EACH ROW EXECUTE FUNCTION record_config_change('provider', 'name');

-- agents: the gateway rewrites model_usage_stats constantly; the WHEN clause
-- keeps those updates from calling the function at all.
CREATE TRIGGER agents_config_changes_insert_delete
    AFTER INSERT OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION record_config_change('agent', 'id');

CREATE TRIGGER agents_config_changes_update
    AFTER UPDATE ON agents
    FOR EACH ROW
    WHEN (OLD.model_config IS DISTINCT FROM NEW.model_config
          OR OLD.preferred_model IS DISTINCT FROM NEW.preferred_model
          OR OLD.temperature IS DISTINCT FROM NEW.temperature
          OR OLD.max_tokens IS DISTINCT FROM NEW.max_tokens)
    EXECUTE FUNCTION record_config_change('agent', 'id');
