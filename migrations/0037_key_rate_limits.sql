-- 0037_key_rate_limits.sql
--
-- The API-key parts of the rate limits of 0036, which need the key that
-- enqueued each job (llm_jobs.api_key_id, 0033):
--
-- * max_concurrent_jobs: at most this many of the key's jobs queued or running
--   at once. The BEFORE INSERT trigger of 0036 now also locks the key's limit
--   row (only when that key has such a cap) and counts the key's live jobs, so
--   concurrent inserts by any number of registries cannot pass it.
-- * tokens_per_minute of a key: the usage trigger also adds the tokens of a
--   finished call to the limit of the key that enqueued its job.

CREATE INDEX llm_jobs_api_key_live_idx ON llm_jobs (api_key_id)
    WHERE api_key_id IS NOT NULL AND status IN ('queued', 'running');

CREATE OR REPLACE FUNCTION llm_jobs_admission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cap      integer;
    limit_id uuid;
    live     bigint;
BEGIN
    IF NEW.status = 'queued' THEN
        SELECT max_queued_jobs INTO cap FROM tenants WHERE id = NEW.tenant_id;
        IF cap IS NOT NULL THEN
            PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR NO KEY UPDATE;
            SELECT count(*) INTO live FROM llm_jobs WHERE tenant_id = NEW.tenant_id AND status = 'queued';
            IF live >= cap THEN
                RAISE EXCEPTION 'the tenant already has % queued jobs (max_queued_jobs %)', live, cap
                    USING ERRCODE = 'SB429',
                          DETAIL = jsonb_build_object('limit', 'max_queued_jobs', 'value', cap, 'tenant_id', NEW.tenant_id)::text;
            END IF;
        END IF;
        IF NEW.api_key_id IS NOT NULL THEN
            SELECT l.id, l.max_concurrent_jobs INTO limit_id, cap
              FROM rate_limits l WHERE l.api_key_id = NEW.api_key_id AND l.max_concurrent_jobs IS NOT NULL;
            IF limit_id IS NOT NULL THEN
                PERFORM 1 FROM rate_limits WHERE id = limit_id FOR NO KEY UPDATE;
                SELECT count(*) INTO live FROM llm_jobs
                 WHERE api_key_id = NEW.api_key_id AND status IN ('queued', 'running');
                IF live >= cap THEN
                    RAISE EXCEPTION 'the key already has % queued or running jobs (max_concurrent_jobs %)', live, cap
                        USING ERRCODE = 'SB429',
                              DETAIL = jsonb_build_object('limit', 'max_concurrent_jobs', 'value', cap, 'rate_limit_id', limit_id)::text;
                END IF;
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION rate_limit_count_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Nothing configured: two lookups in empty (or tiny) tables, no join with the jobs.
    IF EXISTS (SELECT 1 FROM rate_limits WHERE tokens_per_minute IS NOT NULL) THEN
    INSERT INTO rate_limit_counters AS k (limit_id, window_start, tokens)
    SELECT l.id, rate_window_start(now(), l.window_seconds), sum(t.tokens)
      FROM (SELECT u.agent_id, j.api_key_id,
                   coalesce(u.input_tokens, 0)::bigint + coalesce(u.output_tokens, 0) AS tokens
              FROM new_usage u LEFT JOIN llm_jobs j ON j.id = u.job_id) t
      JOIN rate_limits l ON l.agent_id = t.agent_id OR l.api_key_id = t.api_key_id
     WHERE l.tokens_per_minute IS NOT NULL
     GROUP BY l.id, l.window_seconds
     ORDER BY l.id
    ON CONFLICT ON CONSTRAINT rate_limit_counters_pkey DO UPDATE
        SET tokens = CASE WHEN k.window_start >= excluded.window_start THEN k.tokens + excluded.tokens ELSE excluded.tokens END,
            requests = CASE WHEN k.window_start >= excluded.window_start THEN k.requests ELSE 0 END,
            window_start = greatest(k.window_start, excluded.window_start);
    END IF;
    IF EXISTS (SELECT 1 FROM provider_quotas WHERE tpm IS NOT NULL) THEN
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
    END IF;
    RETURN NULL;
END;
$$;
