-- 0019_tenants_and_api_keys.sql
--
-- Who is calling. A tenant (a team or organisation) owns agents, keys, jobs and
-- workflow executions; usage and counters belong to it through their agent.
-- Everything that existed before this migration belongs to the default tenant
-- (fixed id below), so an upgrade loses nothing and a single-team install
-- notices nothing.
--
-- API keys: the key itself is shown once when created and never stored; the
-- table keeps its SHA-256 (lookups hash the presented key and find it by that
-- hash, so no comparison of secrets happens in code) and a prefix that
-- identifies it in lists and logs. Roles: admin (every tenant, providers and
-- the catalog), operator (its tenant's agents and keys below it), inference
-- (/v1 and jobs of its tenant), viewer (reads; bodies only with read_bodies).
--
-- Jobs carry tenant_id next to agent_id, and a composite foreign key makes the
-- pair agree with agents, so a job can never belong to another tenant than its
-- agent. The registry sets tenant_id itself; a row inserted by SQL without it
-- gets its agent's tenant from a trigger that only fires when it is missing.

CREATE TABLE tenants (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL UNIQUE
                           CONSTRAINT tenants_name_check CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE tenants IS
    'Teams or organisations. Each owns agents, API keys, jobs and executions; the default tenant holds everything from before tenants existed.';

INSERT INTO tenants (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'default');

CREATE TABLE api_keys (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    role           text        NOT NULL CONSTRAINT api_keys_role_check
                               CHECK (role IN ('admin', 'operator', 'inference', 'viewer')),
    name           text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    -- The key's first characters, e.g. 'sb_3kF9qW2x', for telling keys apart.
    prefix         text        NOT NULL,
    -- sha256 of the whole key (bytea, 32 bytes).
    secret_hash    bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    -- viewer keys: may read prompts and answers (request/result/error bodies).
    read_bodies    boolean     NOT NULL DEFAULT false,
    -- NULL: every agent / model of the tenant.
    allowed_agents uuid[],
    allowed_models text[],
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Touched at most once a minute per key (not a write per request).
    last_used_at   timestamptz,
    revoked_at     timestamptz,
    created_by_key uuid
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

COMMENT ON TABLE api_keys IS
    'API keys: sha256 of the key (never the key), prefix, tenant, role, optional agent/model allow-lists and expiry; revoked_at ends it on every registry within a second.';

-- Agents: tenant fixed at creation.
ALTER TABLE agents ADD COLUMN tenant_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES tenants (id);
ALTER TABLE agents ADD CONSTRAINT agents_id_tenant_key UNIQUE (id, tenant_id);
CREATE INDEX agents_tenant_idx ON agents (tenant_id, name);

-- Executions.
ALTER TABLE workflow_executions ADD COLUMN tenant_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001' REFERENCES tenants (id);
CREATE INDEX workflow_executions_tenant_idx ON workflow_executions (tenant_id, created_at);

-- Jobs: existing rows are the default tenant's (as are all existing agents);
-- new rows get the tenant from the registry, or from their agent.
ALTER TABLE llm_jobs ADD COLUMN tenant_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001';
ALTER TABLE llm_jobs ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE llm_jobs ADD CONSTRAINT llm_jobs_agent_tenant_fkey
    FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id);
-- Implied by the pair (both NOT NULL): one foreign-key check per insert, as before.
ALTER TABLE llm_jobs DROP CONSTRAINT llm_jobs_agent_id_fkey;
CREATE INDEX llm_jobs_tenant_idx ON llm_jobs (tenant_id, id);
-- Idempotency keys are the tenant's own: the same key used by two tenants names two jobs (and
-- one tenant cannot learn from a conflict that another used a key).
CREATE UNIQUE INDEX llm_jobs_tenant_idempotency_key_idx ON llm_jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP INDEX llm_jobs_idempotency_key_idx;
-- /v1 calls naming a catalog model belong to a per-tenant "direct model calls" agent.
CREATE UNIQUE INDEX agents_direct_calls_per_tenant_idx ON agents (tenant_id) WHERE agent_type = 'switchboard_direct';

CREATE FUNCTION llm_jobs_tenant_from_agent() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.tenant_id := (SELECT tenant_id FROM agents WHERE id = NEW.agent_id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER llm_jobs_tenant_from_agent
    BEFORE INSERT ON llm_jobs
    FOR EACH ROW WHEN (NEW.tenant_id IS NULL)
    EXECUTE FUNCTION llm_jobs_tenant_from_agent();

COMMENT ON COLUMN llm_jobs.tenant_id IS
    'Tenant of the job: always its agent''s (composite foreign key); filled from the agent when an INSERT leaves it out.';

-- Audit: which key of which tenant made a change, and the server's request id
-- beside the one the client sent (which a client can choose freely).
ALTER TABLE config_changes ADD COLUMN key_id uuid;
ALTER TABLE config_changes ADD COLUMN tenant_id uuid;
ALTER TABLE config_changes ADD COLUMN client_request_id text;
ALTER TABLE config_changes DROP CONSTRAINT config_changes_entity_check;
ALTER TABLE config_changes ADD CONSTRAINT config_changes_entity_check
    CHECK (entity IN ('model', 'provider', 'agent', 'tenant', 'api_key'));

COMMENT ON COLUMN config_changes.key_id IS 'api_keys.id of the key that made the change (NULL: an environment token, the CLI or SQL).';
COMMENT ON COLUMN config_changes.request_id IS 'The registry''s own id for the request (also in its logs).';
COMMENT ON COLUMN config_changes.client_request_id IS 'The X-Request-Id the client sent, if any.';

CREATE OR REPLACE FUNCTION record_config_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity_name text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    old_doc     jsonb;
    new_doc     jsonb;
    fields      text[];
    agent_keys  text[] := ARRAY['id', 'name', 'tenant_id', 'model_config', 'preferred_model', 'temperature', 'max_tokens'];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_doc := to_jsonb(OLD) - 'created_at' - 'updated_at' - 'locally_edited_fields' - 'secret_hash' - 'last_used_at';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_doc := to_jsonb(NEW) - 'created_at' - 'updated_at' - 'locally_edited_fields' - 'secret_hash' - 'last_used_at';
    END IF;
    IF entity_name = 'agent' THEN
        -- Only the model configuration (and id, name and tenant, so a trail reads by itself).
        old_doc := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(old_doc) WHERE key = ANY (agent_keys));
        new_doc := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(new_doc) WHERE key = ANY (agent_keys));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        fields := ARRAY(SELECT key FROM jsonb_each(new_doc)
                         WHERE new_doc -> key IS DISTINCT FROM old_doc -> key
                           AND (entity_name <> 'agent' OR key NOT IN ('id', 'name', 'tenant_id'))
                         ORDER BY key);
        IF cardinality(fields) = 0 THEN
            RETURN NULL;
        END IF;
    ELSE
        fields := ARRAY(SELECT jsonb_object_keys(coalesce(new_doc, old_doc)) ORDER BY 1);
    END IF;
    INSERT INTO config_changes (entity, entity_id, action, changed_fields, before, after, token_kind, request_id,
                                key_id, tenant_id, client_request_id)
    VALUES (entity_name,
            coalesce(new_doc, old_doc) ->> key_column,
            CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            fields, old_doc, new_doc,
            coalesce(nullif(current_setting('switchboard.token_kind', true), ''), 'database'),
            nullif(current_setting('switchboard.request_id', true), ''),
            nullif(current_setting('switchboard.key_id', true), '')::uuid,
            -- The changed row's tenant (agents, keys); else the writer's.
            coalesce((coalesce(new_doc, old_doc) ->> 'tenant_id')::uuid,
                     nullif(current_setting('switchboard.tenant_id', true), '')::uuid),
            nullif(current_setting('switchboard.client_request_id', true), ''));
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_config_changes
    AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION record_config_change('tenant', 'id');

-- last_used_at is touched by use, not by anyone's decision: not audited.
CREATE TRIGGER api_keys_config_changes_insert_delete
    AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION record_config_change('api_key', 'id');

CREATE TRIGGER api_keys_config_changes_update
    AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.allowed_agents IS DISTINCT FROM NEW.allowed_agents
          OR OLD.allowed_models IS DISTINCT FROM NEW.allowed_models
          OR OLD.read_bodies IS DISTINCT FROM NEW.read_bodies)
    EXECUTE FUNCTION record_config_change('api_key', 'id');

-- Dashboards: a tenant column at the end of every per-agent view (views may
-- only gain columns at the end). Rows keep their grouping: an agent belongs
-- to exactly one tenant.
CREATE OR REPLACE VIEW usage_daily AS
SELECT u.day,
       u.agent_id,
       a.name                                             AS agent_name,
       u.provider,
       u.model_id,
       u.requests,
       u.successes,
       u.errors,
       round(u.errors::numeric / u.requests, 4)           AS error_rate,
       u.input_tokens,
       u.output_tokens,
       u.cached_input_tokens,
       u.cost,
       u.unpriced_requests,
       u.avg_latency_ms,
       u.p95_latency_ms,
       u.fallback_requests,
       u.cache_creation_input_tokens,
       u.reasoning_tokens,
       a.tenant_id
  FROM (
        SELECT (mu.created_at AT TIME ZONE 'UTC')::date            AS day,
               mu.agent_id,
               mu.provider,
               mu.model_id,
               count(*)                                             AS requests,
               count(*) FILTER (WHERE mu.outcome = 'success')       AS successes,
               count(*) FILTER (WHERE mu.outcome = 'error')         AS errors,
               sum(mu.input_tokens)                                 AS input_tokens,
               sum(mu.output_tokens)                                AS output_tokens,
               sum(mu.cached_input_tokens)                          AS cached_input_tokens,
               sum(mu.cost)                                         AS cost,
               count(*) FILTER (WHERE mu.cost IS NULL)              AS unpriced_requests,
               round(avg(mu.latency_ms), 1)                         AS avg_latency_ms,
               round(percentile_cont(0.95) WITHIN GROUP (ORDER BY mu.latency_ms)::numeric, 1)
                                                                    AS p95_latency_ms,
               count(*) FILTER (WHERE mu.fallback_depth > 0)        AS fallback_requests,
               sum(mu.cache_creation_input_tokens)                  AS cache_creation_input_tokens,
               sum(mu.reasoning_tokens)                             AS reasoning_tokens
          FROM model_usage mu
         GROUP BY 1, 2, 3, 4
       ) u
  LEFT JOIN agents a ON a.id = u.agent_id;

CREATE OR REPLACE VIEW usage_by_agent_model AS
SELECT u.agent_id,
       a.name                                             AS agent_name,
       u.provider,
       u.model_id,
       u.requests,
       u.successes,
       u.errors,
       round(u.errors::numeric / u.requests, 4)           AS error_rate,
       u.input_tokens,
       u.output_tokens,
       u.cached_input_tokens,
       u.cost,
       u.unpriced_requests,
       u.avg_latency_ms,
       u.p95_latency_ms,
       u.first_used_at,
       u.last_used_at,
       u.fallback_requests,
       u.cache_creation_input_tokens,
       u.reasoning_tokens,
       a.tenant_id
  FROM (
        SELECT mu.agent_id,
               mu.provider,
               mu.model_id,
               count(*)                                             AS requests,
               count(*) FILTER (WHERE mu.outcome = 'success')       AS successes,
               count(*) FILTER (WHERE mu.outcome = 'error')         AS errors,
               sum(mu.input_tokens)                                 AS input_tokens,
               sum(mu.output_tokens)                                AS output_tokens,
               sum(mu.cached_input_tokens)                          AS cached_input_tokens,
               sum(mu.cost)                                         AS cost,
               count(*) FILTER (WHERE mu.cost IS NULL)              AS unpriced_requests,
               round(avg(mu.latency_ms), 1)                         AS avg_latency_ms,
               round(percentile_cont(0.95) WITHIN GROUP (ORDER BY mu.latency_ms)::numeric, 1)
                                                                    AS p95_latency_ms,
               min(mu.created_at)                                   AS first_used_at,
               max(mu.created_at)                                   AS last_used_at,
               count(*) FILTER (WHERE mu.fallback_depth > 0)        AS fallback_requests,
               sum(mu.cache_creation_input_tokens)                  AS cache_creation_input_tokens,
               sum(mu.reasoning_tokens)                             AS reasoning_tokens
          FROM model_usage mu
         GROUP BY 1, 2, 3
       ) u
  LEFT JOIN agents a ON a.id = u.agent_id;

CREATE OR REPLACE VIEW agent_usage_stats AS
SELECT agent_id,
       sum(input_tokens + output_tokens)                                               AS total_tokens,
       CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END                            AS total_cost,
       sum(requests)                                                                   AS total_requests,
       round(sum(input_tokens + output_tokens)::numeric / nullif(sum(requests), 0), 2)  AS avg_tokens_per_request,
       max(last_used_at)                                                               AS last_used_at,
       sum(requests) - sum(priced_requests)                                            AS unpriced_requests,
       sum(successes)                                                                  AS total_successes,
       sum(errors)                                                                     AS total_errors,
       sum(fallback_requests)                                                          AS total_fallback_requests,
       (SELECT a.tenant_id FROM agents a WHERE a.id = agent_usage_daily.agent_id)       AS tenant_id
  FROM agent_usage_daily
 GROUP BY agent_id;

CREATE OR REPLACE VIEW usage_daily_rollup AS
SELECT c.day,
       (c.day::timestamp AT TIME ZONE 'UTC')                                        AS bucket_start,
       c.agent_id,
       a.name                                                                      AS agent_name,
       c.provider,
       c.model_id,
       c.requests,
       c.successes,
       c.errors,
       round(c.errors::numeric / nullif(c.requests, 0), 4)                          AS error_rate,
       c.fallback_requests,
       round(c.fallback_requests::numeric / nullif(c.requests, 0), 4)               AS fallback_rate,
       c.input_tokens,
       c.output_tokens,
       c.input_tokens + c.output_tokens                                            AS total_tokens,
       c.cached_input_tokens,
       c.cache_creation_input_tokens,
       c.reasoning_tokens,
       CASE WHEN c.priced_requests > 0 THEN c.cost END                              AS cost,
       c.requests - c.priced_requests                                              AS unpriced_requests,
       c.successes - c.priced_requests                                             AS unpriced_successes,
       round(c.latency_ms_sum::numeric / nullif(c.requests, 0), 1)                  AS avg_latency_ms,
       c.last_used_at,
       c.latency_ms_sum,
       a.tenant_id
  FROM (
        SELECT day, agent_id, provider, model_id,
               sum(requests)::bigint                    AS requests,
               sum(successes)::bigint                   AS successes,
               sum(errors)::bigint                      AS errors,
               sum(fallback_requests)::bigint           AS fallback_requests,
               sum(input_tokens)::bigint                AS input_tokens,
               sum(output_tokens)::bigint               AS output_tokens,
               sum(cached_input_tokens)::bigint         AS cached_input_tokens,
               sum(cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
               sum(reasoning_tokens)::bigint            AS reasoning_tokens,
               sum(priced_requests)::bigint             AS priced_requests,
               sum(cost)                                AS cost,
               sum(latency_ms_sum)::bigint              AS latency_ms_sum,
               max(last_used_at)                        AS last_used_at
          FROM agent_usage_daily
         GROUP BY day, agent_id, provider, model_id
       ) c
  LEFT JOIN agents a ON a.id = c.agent_id;

CREATE OR REPLACE VIEW fallback_rate_daily AS
SELECT day, bucket_start, agent_id, agent_name,
       sum(requests)::bigint                                                       AS requests,
       sum(fallback_requests)::bigint                                              AS fallback_requests,
       round(sum(fallback_requests)::numeric / nullif(sum(requests), 0), 4)         AS fallback_rate,
       sum(errors)::bigint                                                         AS errors,
       round(sum(errors)::numeric / nullif(sum(requests), 0), 4)                    AS error_rate,
       tenant_id
  FROM usage_daily_rollup
 GROUP BY day, bucket_start, agent_id, agent_name, tenant_id;

CREATE OR REPLACE VIEW most_expensive_agents AS
SELECT agent_id, agent_name,
       CASE WHEN sum(requests - unpriced_requests) > 0 THEN sum(cost) END            AS cost,
       sum(requests)::bigint                                                       AS requests,
       sum(total_tokens)::bigint                                                   AS total_tokens,
       sum(unpriced_successes)::bigint                                             AS unpriced_successes,
       max(last_used_at)                                                           AS last_used_at,
       tenant_id
  FROM usage_daily_rollup
 WHERE day >= (now() AT TIME ZONE 'UTC')::date - 29
 GROUP BY agent_id, agent_name, tenant_id
 ORDER BY cost DESC NULLS LAST, requests DESC;

-- Latency per model is a property of the provider, shared by every tenant: the
-- per-tenant split is a separate view rather than a change of this one's rows.
CREATE VIEW model_latency_daily_by_tenant AS
SELECT (mu.created_at AT TIME ZONE 'UTC')::date                                     AS day,
       ((mu.created_at AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC')     AS bucket_start,
       mu.provider,
       mu.model_id,
       count(*) FILTER (WHERE mu.outcome = 'success')                              AS successes,
       count(*) FILTER (WHERE mu.outcome = 'error')                                AS errors,
       round((percentile_cont(0.50) WITHIN GROUP (ORDER BY mu.latency_ms)
              FILTER (WHERE mu.outcome = 'success'))::numeric, 1)                   AS p50_latency_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY mu.latency_ms)
              FILTER (WHERE mu.outcome = 'success'))::numeric, 1)                   AS p95_latency_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY mu.latency_ms)
              FILTER (WHERE mu.outcome = 'success'))::numeric, 1)                   AS p99_latency_ms,
       round(avg(mu.latency_ms) FILTER (WHERE mu.outcome = 'success'), 1)           AS avg_latency_ms,
       max(mu.latency_ms) FILTER (WHERE mu.outcome = 'success')                     AS max_latency_ms,
       a.tenant_id
  FROM model_usage mu
  LEFT JOIN agents a ON a.id = mu.agent_id
 WHERE mu.created_at >= ((now() AT TIME ZONE 'UTC')::date - 6)::timestamp AT TIME ZONE 'UTC'
 GROUP BY 1, 2, 3, 4, a.tenant_id;

COMMENT ON VIEW model_latency_daily_by_tenant IS
    'model_latency_daily split by tenant (the agent''s): last 7 UTC days, per day, provider, model and tenant.';

-- Queue depth per tenant (llm_queue_status stays the whole queue's one row).
CREATE VIEW llm_queue_status_by_tenant AS
SELECT t.id AS tenant_id, t.name AS tenant_name,
       count(j.id) FILTER (WHERE j.status = 'queued')                               AS queued,
       count(j.id) FILTER (WHERE j.status = 'queued' AND j.run_at <= now())         AS ready,
       count(j.id) FILTER (WHERE j.status = 'running')                              AS running
  FROM tenants t
  LEFT JOIN llm_jobs j ON j.tenant_id = t.id AND j.status IN ('queued', 'running')
 GROUP BY t.id, t.name;

COMMENT ON VIEW llm_queue_status_by_tenant IS
    'Per tenant: queued, ready and running jobs.';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_dashboard') THEN
        GRANT SELECT ON model_latency_daily_by_tenant, llm_queue_status_by_tenant TO switchboard_dashboard;
    END IF;
END;
$$;
