-- The gateway's own statements for one batch of 64, as pgbench runs them (no provider call):
-- claim (one statement), then the completion transaction: job rows from one jsonb document,
-- usage rows from one jsonb document, the agent counter upsert. Run with
--   pgbench -n -M prepared -c 2 -j 2 -T 20 -f pgbench_claim_complete.sql
-- after setup.sql. Mirrors Sources/Gateway/GatewayStore.swift (claim, complete).
WITH c AS (SELECT id FROM llm_jobs WHERE status = 'queued' AND run_at <= now() AND attempt < max_attempts
            ORDER BY priority DESC, run_at, id LIMIT 64 FOR UPDATE SKIP LOCKED)
UPDATE llm_jobs j SET status = 'running', attempt = j.attempt + 1, lease_owner = 'pgb' || :client_id,
       lease_expires_at = now() + 60 * interval '1 second', started_at = now(), updated_at = now()
  FROM c WHERE j.id = c.id
RETURNING j.id, j.agent_id, j.execution_id, j.step, j.request::text, j.attempt, j.max_attempts, j.error::text,
          j.cancel_requested_at IS NOT NULL;
-- pgbench cannot carry the RETURNING rows into the next statement, so the completion picks this
-- client's running jobs again (the same rows, by the lease index). JSON literals keep a space after
-- each colon: pgbench would read ":null" as a variable.
SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'attempt', attempt, 'status', 'succeeded',
         'result', '{"content": "Stub reply to: hello","tool_calls": [],"finish_reason": "stop","refusal": null,"model": "bench-model","provider": "openai","fallback_depth": 0,"usage": {"input_tokens": 12,"output_tokens": 9,"cached_input_tokens": null,"cache_creation_input_tokens": null,"reasoning_tokens": null},"cost": 0.00012,"provider_request_id": "req_1","response_id": "chatcmpl-1","warnings": [],"attempts": 1}'::jsonb,
         'error', NULL)), '[]')::text AS jobs,
       coalesce(jsonb_agg(jsonb_build_object('job_id', id, 'execution_id', NULL, 'agent_id', agent_id,
         'provider', 'openai', 'model_id', 'bench-model', 'fallback_depth', 0, 'attempt', attempt, 'outcome', 'success',
         'error_class', NULL, 'http_status', 200, 'input_tokens', 12, 'output_tokens', 9, 'cached_input_tokens', NULL,
         'cache_creation_input_tokens', NULL, 'reasoning_tokens', NULL, 'cost', 0.00012, 'latency_ms', 1,
         'provider_request_id', 'req_1', 'started_at', now(), 'finished_at', now())), '[]')::text AS usage,
       count(*) AS n
  FROM llm_jobs WHERE status = 'running' AND lease_owner = 'pgb' || :client_id \gset
BEGIN;
WITH input AS (SELECT * FROM jsonb_to_recordset(:jobs::jsonb)
                 AS i(id bigint, attempt integer, status text, result jsonb, error jsonb, delay_ms bigint))
UPDATE llm_jobs j SET status = i.status, result = i.result, error = coalesce(i.error, j.error), finished_at = now(),
       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM input i
 WHERE j.id = i.id AND j.status = 'running' AND j.lease_owner = 'pgb' || :client_id AND j.attempt = i.attempt
RETURNING j.id, j.execution_id::text, j.status;
INSERT INTO model_usage (job_id, execution_id, agent_id, provider, model_id, fallback_depth, attempt, outcome,
                         error_class, http_status, input_tokens, output_tokens, cached_input_tokens,
                         cache_creation_input_tokens, reasoning_tokens, cost, latency_ms, worker_id,
                         provider_request_id, started_at, finished_at)
SELECT u.job_id, u.execution_id, u.agent_id, u.provider, u.model_id, u.fallback_depth, u.attempt, u.outcome,
       u.error_class, u.http_status, u.input_tokens, u.output_tokens, u.cached_input_tokens,
       u.cache_creation_input_tokens, u.reasoning_tokens, u.cost, u.latency_ms, 'pgb' || :client_id,
       u.provider_request_id, u.started_at, u.finished_at
  FROM jsonb_to_recordset(:usage::jsonb)
    AS u(job_id bigint, execution_id uuid, agent_id uuid, provider text, model_id text, fallback_depth integer,
         attempt integer, outcome text, error_class text, http_status integer, input_tokens integer,
         output_tokens integer, cached_input_tokens integer, cache_creation_input_tokens integer,
         reasoning_tokens integer, cost numeric, latency_ms integer, provider_request_id text,
         started_at timestamptz, finished_at timestamptz);
INSERT INTO agent_usage_daily AS c (agent_id, day, provider, model_id, shard, requests, successes, input_tokens,
                                    output_tokens, priced_requests, cost, latency_ms_sum, last_used_at)
VALUES ('00000000-0000-0000-0000-00000000be0c', (now() AT TIME ZONE 'UTC')::date, 'openai', 'bench-model',
        (hashtext('pgb' || :client_id) & 15)::smallint, :n, :n, 12 * :n, 9 * :n, :n, 0.00012 * :n, :n, now())
ON CONFLICT (agent_id, day, provider, model_id, shard) DO UPDATE SET
    requests = c.requests + EXCLUDED.requests, successes = c.successes + EXCLUDED.successes,
    input_tokens = c.input_tokens + EXCLUDED.input_tokens, output_tokens = c.output_tokens + EXCLUDED.output_tokens,
    priced_requests = c.priced_requests + EXCLUDED.priced_requests, cost = c.cost + EXCLUDED.cost,
    latency_ms_sum = c.latency_ms_sum + EXCLUDED.latency_ms_sum, last_used_at = greatest(c.last_used_at, EXCLUDED.last_used_at);
SELECT pg_notify('llm_jobs_done', '1') WHERE EXISTS (SELECT 1 FROM llm_job_waiters WHERE job_id = ANY('{1}'::bigint[]));
COMMIT;
