-- 0013_gateway_queue.sql
--
-- What the gateway needs from the schema, tuned by measurement
-- (../shared/reviews/queue-bench.md, schema.md §2-3). llm_jobs and model_usage
-- are empty in every deployment so far, so they may change freely.
--
-- 1. llm_jobs stays ONE table (a split queue/leases layout was measured no
--    faster: 10.3k vs 10.7k jobs/s, 179 vs 173 ms Postgres CPU per 1,000 jobs).
--    What the benchmark did show is analyze thrash: autovacuum ANALYZEd the wide
--    jsonb table every few seconds (80 runs in 8 minutes, 7 % of Postgres CPU).
--    No query on llm_jobs needs fresh statistics (the claim is a LIMIT scan of a
--    partial index), so analyze rarely and never sample the jsonb columns.
-- 2. NOTIFY on insert only when a job is ready now AND some worker has said it
--    is idle (llm_gateway_waiters). Under load every worker is busy and polling
--    anyway, and a NOTIFY takes a cluster-wide lock held through the commit
--    flush (-34 % single-row insert throughput, measured).
-- 3. Cancellation of running jobs (cancel_requested_at), long-poll wake-ups
--    (llm_job_waiters + channel llm_jobs_done), shared cooldowns.
-- 4. Sharded usage counters instead of hot agents / workflow_executions rows.
-- 5. model_usage partitioned by UTC day, with cache-write and reasoning tokens
--    and the provider's request id; llm_models gains the cache-write price.

SET LOCAL lock_timeout = '5s';

------------------------------------------------------------------------------
-- 1. llm_jobs
------------------------------------------------------------------------------

ALTER TABLE llm_jobs SET (
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_analyze_threshold    = 50000,
    vacuum_truncate                 = off
);
ALTER TABLE llm_jobs ALTER COLUMN request SET STATISTICS 0,
                     ALTER COLUMN result  SET STATISTICS 0,
                     ALTER COLUMN error   SET STATISTICS 0;

-- Set by POST /api/jobs/{id}/cancel (or plain SQL) on a RUNNING job: the worker
-- makes no further attempt, cancels its in-flight call, and completion turns
-- the job into 'cancelled'. Queued jobs are cancelled directly.
ALTER TABLE llm_jobs ADD COLUMN cancel_requested_at timestamptz;

ALTER TABLE llm_jobs ADD CONSTRAINT llm_jobs_finished_check CHECK (
    (status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)) NOT VALID;
ALTER TABLE llm_jobs VALIDATE CONSTRAINT llm_jobs_finished_check;
ALTER TABLE llm_jobs ADD CONSTRAINT llm_jobs_attempt_max_check CHECK (attempt <= max_attempts) NOT VALID;
ALTER TABLE llm_jobs VALIDATE CONSTRAINT llm_jobs_attempt_max_check;

COMMENT ON COLUMN llm_jobs.cancel_requested_at IS
    'Cancel requested while running: no further attempts; the job ends cancelled.';

------------------------------------------------------------------------------
-- 2. Gated NOTIFY for new jobs
------------------------------------------------------------------------------

-- Workers that are idle and LISTENing on llm_jobs_new. A worker inserts its row
-- when a claim came back short (it has free slots and nothing to do) and
-- deletes it when it stops. A stale row (a killed worker) only costs an
-- occasional needless NOTIFY. UNLOGGED: nothing here must survive a crash.
CREATE UNLOGGED TABLE llm_gateway_waiters (
    worker_id text        PRIMARY KEY,
    since     timestamptz NOT NULL DEFAULT now()
);

DROP TRIGGER llm_jobs_notify_new ON llm_jobs;
DROP FUNCTION notify_llm_jobs_new();

-- Statement level with a transition table: one check per INSERT statement, and
-- no notification for 0-row inserts (ON CONFLICT DO NOTHING), jobs scheduled in
-- the future, or when no worker is idle.
CREATE FUNCTION notify_llm_jobs_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM llm_gateway_waiters)
       AND EXISTS (SELECT 1 FROM new_jobs WHERE status = 'queued' AND run_at <= now()) THEN
        PERFORM pg_notify('llm_jobs_new', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER llm_jobs_notify_new
    AFTER INSERT ON llm_jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_llm_jobs_new();

------------------------------------------------------------------------------
-- 3. Long-poll waiters and shared cooldowns
------------------------------------------------------------------------------

-- Jobs someone is long-polling (GET /api/jobs/{id}?wait=). The completer sends
-- pg_notify('llm_jobs_done', '<id>,<id>,...') for the finished jobs of a batch
-- only when one of them is listed here, so completions cost no NOTIFY when
-- nobody waits. `waiter` names the registry process (several may wait on one job).
CREATE UNLOGGED TABLE llm_job_waiters (
    job_id bigint      NOT NULL,
    waiter text        NOT NULL,
    since  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, waiter)
);

-- A model that keeps failing transiently is cooled down for every worker: each
-- worker skips (provider, model_id) until `until` instead of rediscovering the
-- outage. Written by workers with an upsert; read with the config cache.
CREATE TABLE llm_model_cooldowns (
    provider   text        NOT NULL,
    model_id   text        NOT NULL,
    until      timestamptz NOT NULL,
    error_class text       NOT NULL,
    reason     text,
    worker_id  text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, model_id)
);

COMMENT ON TABLE llm_model_cooldowns IS
    'Models every worker skips until `until` (after repeated transient failures); shared through Postgres.';

------------------------------------------------------------------------------
-- 4. Usage counters (sharded; written once per completion batch in key order)
------------------------------------------------------------------------------

-- One row per (agent, UTC day, provider, model, shard). `shard` is the writer's
-- slot (hashtext(worker_id) & 15), so two workers rarely update one row and
-- completion transactions rarely wait on each other (16 slots: with several
-- workers some share a slot; their deltas still add up). Each batch upserts its
-- per-key deltas sorted by the primary key (locks in key order: no deadlocks).
-- These survive model_usage retention (they are the daily rollup).
CREATE TABLE agent_usage_daily (
    agent_id                    uuid        NOT NULL,
    day                         date        NOT NULL,
    provider                    text        NOT NULL,
    model_id                    text        NOT NULL,
    shard                       smallint    NOT NULL,
    requests                    bigint      NOT NULL DEFAULT 0,   -- provider attempts
    successes                   bigint      NOT NULL DEFAULT 0,
    errors                      bigint      NOT NULL DEFAULT 0,
    fallback_requests           bigint      NOT NULL DEFAULT 0,   -- attempts with fallback_depth > 0
    input_tokens                bigint      NOT NULL DEFAULT 0,
    output_tokens               bigint      NOT NULL DEFAULT 0,
    cached_input_tokens         bigint      NOT NULL DEFAULT 0,
    cache_creation_input_tokens bigint      NOT NULL DEFAULT 0,
    reasoning_tokens            bigint      NOT NULL DEFAULT 0,
    priced_requests             bigint      NOT NULL DEFAULT 0,   -- attempts whose cost is known
    cost                        numeric     NOT NULL DEFAULT 0,   -- sum of KNOWN costs (USD)
    latency_ms_sum              bigint      NOT NULL DEFAULT 0,
    last_used_at                timestamptz NOT NULL,
    PRIMARY KEY (agent_id, day, provider, model_id, shard)
) WITH (fillfactor = 70, vacuum_truncate = off);

CREATE TABLE execution_usage (
    execution_id                uuid        NOT NULL,
    agent_id                    uuid        NOT NULL,
    provider                    text        NOT NULL,
    model_id                    text        NOT NULL,
    shard                       smallint    NOT NULL,
    requests                    bigint      NOT NULL DEFAULT 0,
    successes                   bigint      NOT NULL DEFAULT 0,
    errors                      bigint      NOT NULL DEFAULT 0,
    fallback_requests           bigint      NOT NULL DEFAULT 0,
    input_tokens                bigint      NOT NULL DEFAULT 0,
    output_tokens               bigint      NOT NULL DEFAULT 0,
    cached_input_tokens         bigint      NOT NULL DEFAULT 0,
    cache_creation_input_tokens bigint      NOT NULL DEFAULT 0,
    reasoning_tokens            bigint      NOT NULL DEFAULT 0,
    priced_requests             bigint      NOT NULL DEFAULT 0,
    cost                        numeric     NOT NULL DEFAULT 0,
    latency_ms_sum              bigint      NOT NULL DEFAULT 0,
    last_used_at                timestamptz NOT NULL,
    PRIMARY KEY (execution_id, agent_id, provider, model_id, shard)
) WITH (fillfactor = 70, vacuum_truncate = off);

-- The PRD's per-agent usage shape, exactly consistent with the usage rows
-- (written in the same transaction). total_cost is NULL when no attempt had a
-- known price; unpriced_requests says how many were left out of it.
CREATE VIEW agent_usage_stats AS
SELECT agent_id,
       sum(input_tokens + output_tokens)                                               AS total_tokens,
       CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END                            AS total_cost,
       sum(requests)                                                                   AS total_requests,
       round(sum(input_tokens + output_tokens)::numeric / nullif(sum(requests), 0), 2)  AS avg_tokens_per_request,
       max(last_used_at)                                                               AS last_used_at,
       sum(requests) - sum(priced_requests)                                            AS unpriced_requests,
       sum(successes)                                                                  AS total_successes,
       sum(errors)                                                                     AS total_errors,
       sum(fallback_requests)                                                          AS total_fallback_requests
  FROM agent_usage_daily
 GROUP BY agent_id;

COMMENT ON VIEW agent_usage_stats IS
    'Per agent: total_tokens, total_cost (USD, NULL = no known price), total_requests, avg_tokens_per_request, last_used_at, unpriced_requests, successes, errors, fallback requests. From agent_usage_daily.';

COMMENT ON COLUMN agents.model_usage_stats IS
    'DEPRECATED: not written by the gateway. Read agent_usage_stats / agent_usage_daily instead.';
COMMENT ON COLUMN workflow_executions.models_used IS
    'Written once when the execution finishes, from execution_usage: {"<agent_id>": {"<model_id>": {"requests","successes","errors","input_tokens","output_tokens","cached_input_tokens","cost","unpriced_requests"}}}. While running, read execution_usage.';

-- The old additive-merge counters (0008) are superseded by the tables above.
DROP FUNCTION jsonb_merge_counters(jsonb, jsonb);

------------------------------------------------------------------------------
-- 5. model_usage partitioned by UTC day; llm_models cache-write price
------------------------------------------------------------------------------

DROP VIEW usage_daily;
DROP VIEW usage_by_agent_model;
ALTER TABLE model_usage RENAME TO model_usage_0007;
-- Free the old names for the new table's indexes (the old table is dropped below).
ALTER INDEX model_usage_pkey RENAME TO model_usage_0007_pkey;
ALTER INDEX model_usage_created_at_brin RENAME TO model_usage_0007_created_at_brin;
ALTER INDEX model_usage_day_brin RENAME TO model_usage_0007_day_brin;
ALTER INDEX model_usage_agent_created_idx RENAME TO model_usage_0007_agent_created_idx;
ALTER INDEX model_usage_model_created_idx RENAME TO model_usage_0007_model_created_idx;
ALTER INDEX model_usage_job_idx RENAME TO model_usage_0007_job_idx;

-- An explicit sequence: on PG 15 an identity column of a partitioned parent is
-- not applied to rows inserted directly into a partition.
CREATE SEQUENCE model_usage_row_id_seq AS bigint;

CREATE TABLE model_usage (
    id                          bigint      NOT NULL DEFAULT nextval('model_usage_row_id_seq'),
    job_id                      bigint,
    execution_id                uuid,
    agent_id                    uuid        NOT NULL,
    provider                    text        NOT NULL,
    model_id                    text        NOT NULL,
    fallback_depth              integer     NOT NULL DEFAULT 0
                                            CONSTRAINT model_usage_fallback_depth_check CHECK (fallback_depth >= 0),
    attempt                     integer     NOT NULL DEFAULT 1,
    outcome                     text        NOT NULL
                                            CONSTRAINT model_usage_outcome_check
                                            CHECK (outcome IN ('success', 'error')),
    error_class                 text,
    http_status                 integer     CONSTRAINT model_usage_http_status_check
                                            CHECK (http_status BETWEEN 100 AND 599),
    input_tokens                integer     CONSTRAINT model_usage_input_tokens_check CHECK (input_tokens >= 0),
    output_tokens               integer     CONSTRAINT model_usage_output_tokens_check CHECK (output_tokens >= 0),
    cached_input_tokens         integer     CONSTRAINT model_usage_cached_input_tokens_check CHECK (cached_input_tokens >= 0),
    cache_creation_input_tokens integer     CONSTRAINT model_usage_cache_creation_tokens_check
                                            CHECK (cache_creation_input_tokens >= 0),
    reasoning_tokens            integer     CONSTRAINT model_usage_reasoning_tokens_check CHECK (reasoning_tokens >= 0),
    cost                        numeric     CONSTRAINT model_usage_cost_check CHECK (cost >= 0),
    latency_ms                  integer     CONSTRAINT model_usage_latency_check CHECK (latency_ms >= 0),
    worker_id                   text,
    provider_request_id         text,
    started_at                  timestamptz NOT NULL,
    finished_at                 timestamptz NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_usage_outcome_class_check CHECK ((outcome = 'success') = (error_class IS NULL)),
    CONSTRAINT model_usage_finished_check CHECK (finished_at >= started_at),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE model_usage_row_id_seq OWNED BY model_usage.id;

CREATE INDEX model_usage_created_at_brin ON model_usage USING brin (created_at);
CREATE INDEX model_usage_agent_created_idx ON model_usage (agent_id, created_at);
CREATE INDEX model_usage_model_created_idx ON model_usage (model_id, created_at);
CREATE INDEX model_usage_job_idx ON model_usage (job_id) WHERE job_id IS NOT NULL;

-- Rows whose day has no partition yet land here rather than failing the
-- gateway's completion; model_usage_ensure_partitions() keeps days ahead
-- created so that this stays empty (a non-empty default partition makes
-- creating an overlapping day fail: move its rows out first).
CREATE TABLE model_usage_default PARTITION OF model_usage DEFAULT;

-- Creates the partitions for yesterday .. today + days_ahead (UTC days) that do
-- not exist yet. Called by `model-registry migrate`, at gateway start and
-- hourly by the gateway, under an advisory lock so concurrent callers do not
-- race on CREATE TABLE. Retention = DROP TABLE model_usage_YYYYMMDD; the
-- counters above keep daily totals forever.
CREATE FUNCTION model_usage_ensure_partitions(days_ahead integer DEFAULT 7) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d       date;
    name    text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('model_usage_ensure_partitions'));
    FOR d IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 1,
                                    (now() AT TIME ZONE 'UTC')::date + days_ahead,
                                    interval '1 day')::date LOOP
        name := 'model_usage_' || to_char(d, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            -- Append-only: analyze only after a meaningful share of new rows
            -- (the old 0.02 re-analyzed the growing table every ~5 s under load).
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF model_usage FOR VALUES FROM (%L) TO (%L) '
                'WITH (autovacuum_vacuum_insert_scale_factor = 0.1, autovacuum_analyze_scale_factor = 0.2, '
                'autovacuum_analyze_threshold = 50000, autovacuum_vacuum_cost_delay = 0)',
                name, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

SELECT model_usage_ensure_partitions(7);

INSERT INTO model_usage (id, job_id, execution_id, agent_id, provider, model_id, fallback_depth, attempt,
                         outcome, error_class, http_status, input_tokens, output_tokens, cached_input_tokens,
                         cost, latency_ms, worker_id, started_at, finished_at, created_at)
SELECT id, job_id, execution_id, agent_id, provider, model_id, fallback_depth, attempt,
       outcome, error_class, http_status, input_tokens, output_tokens, cached_input_tokens,
       cost, latency_ms, worker_id, started_at, finished_at, created_at
  FROM model_usage_0007
 WHERE agent_id IS NOT NULL;
SELECT setval('model_usage_row_id_seq', greatest((SELECT max(id) FROM model_usage_0007), 1));
DROP TABLE model_usage_0007;

COMMENT ON TABLE model_usage IS
    'One row per provider attempt (append-only), partitioned by UTC day (model_usage_YYYYMMDD): tokens, exact cost (NULL = unknown price), latency, outcome, error class.';
COMMENT ON COLUMN model_usage.fallback_depth IS '0 = primary model, n = n-th fallback in the agent''s model chain.';
COMMENT ON COLUMN model_usage.attempt IS 'llm_jobs.attempt during which the call was made (1-based).';
COMMENT ON COLUMN model_usage.cost IS 'USD, exact NUMERIC. NULL when the price or token counts are unknown (never a silent 0).';
COMMENT ON COLUMN model_usage.input_tokens IS 'All prompt tokens, including cached and cache-write ones (NULL = not reported).';
COMMENT ON COLUMN model_usage.cached_input_tokens IS 'Subset of input_tokens read from the provider''s prompt cache.';
COMMENT ON COLUMN model_usage.cache_creation_input_tokens IS 'Subset of input_tokens written to the provider''s prompt cache (Anthropic cache_creation_input_tokens).';
COMMENT ON COLUMN model_usage.reasoning_tokens IS 'Subset of output_tokens spent on reasoning (OpenAI reasoning_tokens).';
COMMENT ON COLUMN model_usage.provider_request_id IS 'The provider''s request id (x-request-id / request-id), for support tickets.';

-- Same names and columns as 0009 (the stable dashboard interface), plus new
-- columns at the end.
CREATE VIEW usage_daily AS
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
       u.reasoning_tokens
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

COMMENT ON VIEW usage_daily IS
    'Per UTC day, agent, provider and model: requests (attempts), successes, errors, error_rate, tokens, cost (USD, NULL = unknown), unpriced_requests, avg/p95 latency (ms), fallback_requests. Filter on day. For long ranges read agent_usage_daily (survives retention).';
COMMENT ON COLUMN usage_daily.day IS 'UTC calendar day of model_usage.created_at.';
COMMENT ON COLUMN usage_daily.requests IS 'Provider attempts, including retries and fallbacks.';
COMMENT ON COLUMN usage_daily.error_rate IS 'errors / requests, 0..1, 4 decimals.';
COMMENT ON COLUMN usage_daily.cost IS 'Sum of known costs in USD; NULL when none was known. See unpriced_requests.';
COMMENT ON COLUMN usage_daily.unpriced_requests IS 'Attempts whose cost is unknown (excluded from cost).';

CREATE VIEW usage_by_agent_model AS
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
       u.reasoning_tokens
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

COMMENT ON VIEW usage_by_agent_model IS
    'All-time totals per agent, provider and model from raw attempts (model_usage). Reads all retained rows: prefer usage_daily with a day filter, or agent_usage_daily.';
COMMENT ON COLUMN usage_by_agent_model.cost IS 'Sum of known costs in USD; NULL when none was known. See unpriced_requests.';
COMMENT ON COLUMN usage_by_agent_model.unpriced_requests IS 'Attempts whose cost is unknown (excluded from cost).';

-- Anthropic bills prompt-cache WRITES above the input price (LiteLLM's
-- cache_creation_input_token_cost). NULL = unknown: cache-write tokens are then
-- priced at input_cost_per_1k.
ALTER TABLE llm_models ADD COLUMN cache_creation_input_cost_per_1k numeric
    CONSTRAINT llm_models_cache_creation_cost_check CHECK (cache_creation_input_cost_per_1k >= 0);
COMMENT ON COLUMN llm_models.cache_creation_input_cost_per_1k IS
    'USD per 1K prompt tokens written to the provider''s prompt cache; NULL = priced at input_cost_per_1k.';
