-- 0036_rate_limits.sql
--
-- Rate limits and provider quotas (issue 23), shared by every registry and
-- worker because they live here, not in any process's memory.
--
-- rate_limits: per API key or per agent, requests and tokens per window
-- (window_seconds, 60 by default: "per minute") and a cap on the key's
-- queued + running jobs (the key's part needs llm_jobs.api_key_id; 0037).
-- The registry admits new work through rate_limit_admit() (one statement),
-- which locks the limits' counters in id order, checks all of them and counts
-- the request only when every one allows it.
--
-- Tokens: the input + output tokens of every provider call the gateway records
-- (a model_usage row) are added to the current window of the limits of the
-- call's agent (and key, 0037) by a statement-level trigger, in the window in
-- which the usage row is written (the call's completion). A window whose
-- tokens reached the limit refuses new work until it ends.
--
-- tenants.max_queued_jobs: a cap on a tenant's queued jobs, enforced by a
-- BEFORE INSERT trigger on llm_jobs that locks the tenant's row (only when a
-- cap is set) and counts, so concurrent inserts by any registry cannot pass it.
--
-- provider_quotas: what a provider grants (requests and tokens per window) for
-- one model of a provider, or for the whole provider (model_id NULL). Workers
-- take a slot (provider_quota_take) before every call; a full window sends the
-- job back to the queue until the window ends.
--
-- Windows are fixed, aligned on the database clock: the window of instant t
-- for length w starts at floor(epoch(t) / w) * w. Each limit or quota has one
-- counter row holding its current window; a row whose window has passed is
-- reset by the next statement that touches it (no rows pile up).

CREATE TABLE rate_limits (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scope               text        NOT NULL CONSTRAINT rate_limits_scope_check CHECK (scope IN ('api_key', 'agent')),
    api_key_id          uuid        REFERENCES api_keys (id) ON DELETE CASCADE,
    agent_id            uuid        REFERENCES agents (id) ON DELETE CASCADE,
    requests_per_minute integer     CONSTRAINT rate_limits_requests_check CHECK (requests_per_minute > 0),
    tokens_per_minute   bigint      CONSTRAINT rate_limits_tokens_check CHECK (tokens_per_minute > 0),
    max_concurrent_jobs integer     CONSTRAINT rate_limits_concurrent_check CHECK (max_concurrent_jobs > 0),
    window_seconds      integer     NOT NULL DEFAULT 60
                                    CONSTRAINT rate_limits_window_check CHECK (window_seconds BETWEEN 1 AND 3600),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_limits_scope_id_check CHECK (
        (scope = 'api_key' AND api_key_id IS NOT NULL AND agent_id IS NULL)
        OR (scope = 'agent' AND agent_id IS NOT NULL AND api_key_id IS NULL))
);

CREATE UNIQUE INDEX rate_limits_api_key_idx ON rate_limits (api_key_id) WHERE api_key_id IS NOT NULL;
CREATE UNIQUE INDEX rate_limits_agent_idx ON rate_limits (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX rate_limits_tenant_idx ON rate_limits (tenant_id, created_at);

COMMENT ON TABLE rate_limits IS
    'Rate limits of an API key or an agent: requests and tokens per window (window_seconds, default 60), and the key''s concurrent (queued + running) jobs. One per key or agent.';
COMMENT ON COLUMN rate_limits.window_seconds IS
    'Length of the fixed windows (aligned on the database clock) that requests_per_minute and tokens_per_minute count in; 60 unless set.';

CREATE TABLE rate_limit_counters (
    limit_id     uuid        PRIMARY KEY REFERENCES rate_limits (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests     integer     NOT NULL DEFAULT 0,
    tokens       bigint      NOT NULL DEFAULT 0
);

COMMENT ON TABLE rate_limit_counters IS
    'The current window of each rate limit: requests admitted and tokens of finished calls counted in it.';

-- The start of the window holding `at` for windows of `seconds`.
CREATE FUNCTION rate_window_start(at timestamptz, seconds integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM at) / seconds) * seconds)
$$;

-- Admits `counts[i]` requests against limit `ids[i]` for every i, or none:
-- returns no row when admitted (and counts them), else one row per limit that
-- refuses (what is full and how long until its window ends, in ms).
CREATE FUNCTION rate_limit_admit(ids uuid[], counts integer[])
RETURNS TABLE (limit_id uuid, refused text, limit_value bigint, retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r        record;
    c        record;
    started  timestamptz;
    refusals integer := 0;
BEGIN
    FOR r IN SELECT l.id, l.requests_per_minute AS rpm, l.tokens_per_minute AS tpm, l.window_seconds AS ws, w.n
               FROM unnest(ids, counts) AS w (id, n) JOIN rate_limits l ON l.id = w.id
              ORDER BY l.id
    LOOP
        started := rate_window_start(now(), r.ws);
        INSERT INTO rate_limit_counters AS k (limit_id, window_start) VALUES (r.id, started)
        ON CONFLICT ON CONSTRAINT rate_limit_counters_pkey DO UPDATE
            SET window_start = excluded.window_start, requests = 0, tokens = 0
          WHERE k.window_start < excluded.window_start;
        SELECT k.requests, k.tokens, k.window_start INTO c
          FROM rate_limit_counters k WHERE k.limit_id = r.id FOR UPDATE;
        IF r.rpm IS NOT NULL AND c.requests + r.n > r.rpm THEN
            limit_id := r.id; refused := 'requests_per_minute'; limit_value := r.rpm;
            retry_after_ms := ceil(extract(epoch FROM (c.window_start + r.ws * interval '1 second' - now())) * 1000);
            refusals := refusals + 1;
            RETURN NEXT;
        ELSIF r.tpm IS NOT NULL AND c.tokens >= r.tpm THEN
            limit_id := r.id; refused := 'tokens_per_minute'; limit_value := r.tpm;
            retry_after_ms := ceil(extract(epoch FROM (c.window_start + r.ws * interval '1 second' - now())) * 1000);
            refusals := refusals + 1;
            RETURN NEXT;
        END IF;
    END LOOP;
    IF refusals = 0 THEN
        UPDATE rate_limit_counters k SET requests = k.requests + w.n
          FROM unnest(ids, counts) AS w (id, n) WHERE k.limit_id = w.id;
    END IF;
END;
$$;

-- Provider quotas.
CREATE TABLE provider_quotas (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider       text        NOT NULL REFERENCES llm_providers (name) ON UPDATE CASCADE ON DELETE CASCADE,
    -- NULL: every model of the provider together.
    model_id       text,
    rpm            integer     CONSTRAINT provider_quotas_rpm_check CHECK (rpm > 0),
    tpm            bigint      CONSTRAINT provider_quotas_tpm_check CHECK (tpm > 0),
    window_seconds integer     NOT NULL DEFAULT 60
                               CONSTRAINT provider_quotas_window_check CHECK (window_seconds BETWEEN 1 AND 3600),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT provider_quotas_some_check CHECK (rpm IS NOT NULL OR tpm IS NOT NULL)
);

CREATE UNIQUE INDEX provider_quotas_key_idx ON provider_quotas (provider, coalesce(model_id, ''));

COMMENT ON TABLE provider_quotas IS
    'What a provider grants: requests (rpm) and tokens (tpm) per window (window_seconds, default 60) for one of its models, or for all its models together (model_id NULL). Workers take a slot before each call.';

CREATE TABLE provider_quota_counters (
    quota_id     uuid        PRIMARY KEY REFERENCES provider_quotas (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests     integer     NOT NULL DEFAULT 0,
    tokens       bigint      NOT NULL DEFAULT 0
);

COMMENT ON TABLE provider_quota_counters IS
    'The current window of each provider quota: calls sent (slots taken) and tokens of finished calls in it.';

-- One slot for one call on (provider, model): in the model's quota and the
-- provider's, both or neither (locked in id order). Returns no row when taken, else the quota that
-- is full and the milliseconds until its window ends.
CREATE FUNCTION provider_quota_take(p_provider text, p_model text)
RETURNS TABLE (quota_id uuid, refused text, retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r        record;
    c        record;
    started  timestamptz;
    refusals integer := 0;
    taken    uuid[] := '{}';
BEGIN
    FOR r IN SELECT q.id, q.rpm, q.tpm, q.window_seconds AS ws
               FROM provider_quotas q
              WHERE q.provider = p_provider AND (q.model_id = p_model OR q.model_id IS NULL)
              ORDER BY q.id
    LOOP
        started := rate_window_start(now(), r.ws);
        INSERT INTO provider_quota_counters AS k (quota_id, window_start) VALUES (r.id, started)
        ON CONFLICT ON CONSTRAINT provider_quota_counters_pkey DO UPDATE
            SET window_start = excluded.window_start, requests = 0, tokens = 0
          WHERE k.window_start < excluded.window_start;
        SELECT k.requests, k.tokens, k.window_start INTO c
          FROM provider_quota_counters k WHERE k.quota_id = r.id FOR UPDATE;
        -- The last tenth of a window (at most 0.5 s) gives no slot: the call's ledger row
        -- (llm_job_calls.sent_at), written just after, then falls in the window that counted it.
        IF (r.rpm IS NOT NULL AND c.requests >= r.rpm) OR (r.tpm IS NOT NULL AND c.tokens >= r.tpm)
           OR now() >= c.window_start + r.ws * interval '1 second' - least(interval '500 milliseconds', r.ws * interval '100 milliseconds') THEN
            quota_id := r.id;
            refused := CASE WHEN r.rpm IS NOT NULL AND c.requests >= r.rpm THEN 'rpm'
                            WHEN r.tpm IS NOT NULL AND c.tokens >= r.tpm THEN 'tpm' ELSE 'window_end' END;
            retry_after_ms := ceil(extract(epoch FROM (c.window_start + r.ws * interval '1 second' - now())) * 1000);
            refusals := refusals + 1;
            RETURN NEXT;
        END IF;
        taken := taken || r.id;
    END LOOP;
    IF refusals = 0 THEN
        UPDATE provider_quota_counters k SET requests = k.requests + 1 WHERE k.quota_id = ANY (taken);
    END IF;
END;
$$;

-- Tokens of finished calls: one statement per usage insert, whatever its rows.
-- Joins with empty tables when nothing is configured.
CREATE FUNCTION rate_limit_count_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rate_limit_counters AS k (limit_id, window_start, tokens)
    SELECT l.id, rate_window_start(now(), l.window_seconds),
           sum(coalesce(u.input_tokens, 0)::bigint + coalesce(u.output_tokens, 0))
      FROM new_usage u JOIN rate_limits l ON l.agent_id = u.agent_id
     WHERE l.tokens_per_minute IS NOT NULL
     GROUP BY l.id, l.window_seconds
     ORDER BY l.id
    ON CONFLICT ON CONSTRAINT rate_limit_counters_pkey DO UPDATE
        SET tokens = CASE WHEN k.window_start >= excluded.window_start THEN k.tokens + excluded.tokens ELSE excluded.tokens END,
            requests = CASE WHEN k.window_start >= excluded.window_start THEN k.requests ELSE 0 END,
            window_start = greatest(k.window_start, excluded.window_start);
    INSERT INTO provider_quota_counters AS k (quota_id, window_start, tokens)
    SELECT q.id, rate_window_start(now(), q.window_seconds),
           sum(coalesce(u.input_tokens, 0)::bigint + coalesce(u.output_tokens, 0))
      FROM new_usage u JOIN provider_quotas q ON q.provider = u.provider AND (q.model_id = u.model_id OR q.model_id IS NULL)
     WHERE q.tpm IS NOT NULL
     GROUP BY q.id, q.window_seconds
     ORDER BY q.id
    ON CONFLICT ON CONSTRAINT provider_quota_counters_pkey DO UPDATE
        SET tokens = CASE WHEN k.window_start >= excluded.window_start THEN k.tokens + excluded.tokens ELSE excluded.tokens END,
            requests = CASE WHEN k.window_start >= excluded.window_start THEN k.requests ELSE 0 END,
            window_start = greatest(k.window_start, excluded.window_start);
    RETURN NULL;
END;
$$;

CREATE TRIGGER model_usage_rate_limits
    AFTER INSERT ON model_usage
    REFERENCING NEW TABLE AS new_usage
    FOR EACH STATEMENT EXECUTE FUNCTION rate_limit_count_usage();

-- The tenant's queued-jobs cap.
ALTER TABLE tenants ADD COLUMN max_queued_jobs integer CONSTRAINT tenants_max_queued_jobs_check CHECK (max_queued_jobs > 0);
COMMENT ON COLUMN tenants.max_queued_jobs IS
    'At most this many of the tenant''s jobs queued at once (NULL: no cap); a job beyond it is refused (SQLSTATE SB429).';

CREATE INDEX llm_jobs_tenant_queued_idx ON llm_jobs (tenant_id) WHERE status = 'queued';

-- Refuses a job beyond a cap with SQLSTATE SB429 and a JSON DETAIL the registry
-- answers as 429. Only a capped tenant's row is locked (FOR NO KEY UPDATE:
-- foreign-key checks on the tenant are not blocked), so inserts of one capped
-- tenant are serialised and the count cannot be passed by concurrent inserts.
CREATE FUNCTION llm_jobs_admission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cap    integer;
    queued bigint;
BEGIN
    IF NEW.status = 'queued' THEN
        SELECT max_queued_jobs INTO cap FROM tenants WHERE id = NEW.tenant_id;
        IF cap IS NOT NULL THEN
            PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR NO KEY UPDATE;
            SELECT count(*) INTO queued FROM llm_jobs WHERE tenant_id = NEW.tenant_id AND status = 'queued';
            IF queued >= cap THEN
                RAISE EXCEPTION 'the tenant already has % queued jobs (max_queued_jobs %)', queued, cap
                    USING ERRCODE = 'SB429',
                          DETAIL = jsonb_build_object('limit', 'max_queued_jobs', 'value', cap, 'tenant_id', NEW.tenant_id)::text;
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- After llm_jobs_tenant_from_agent (triggers fire in name order): tenant_id is set.
CREATE TRIGGER llm_jobs_z_admission
    BEFORE INSERT ON llm_jobs
    FOR EACH ROW EXECUTE FUNCTION llm_jobs_admission();

-- Registries cache which keys and agents have limits; workers cache quotas.
CREATE TRIGGER rate_limits_notify_config
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_limits
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();

CREATE TRIGGER provider_quotas_notify_config
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON provider_quotas
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();
