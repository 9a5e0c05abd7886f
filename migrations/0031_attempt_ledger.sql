-- 0031_attempt_ledger.sql
--
-- The attempt ledger (issue 22): one row per provider call, written by the
-- worker *before* the request is sent, keyed by (job_id, attempt, call_seq),
-- carrying the worker's id and its per-process lease token. The attempt number
-- a claim gives is the fencing token; call_seq numbers the calls of one attempt
-- (assigned here, max + 1, so an attempt number given back by a shutdown
-- release and claimed again continues the sequence).
--
-- A call is settled once: the completion transaction upserts the rows of its
-- calls `... WHERE settled_at IS NULL OR outcome = 'unknown' RETURNING`, and
-- writes a model_usage row only for the rows that statement returns, so a
-- replayed or retried completion never records a call twice. A call whose
-- attempt had lost its lease (the job was rescued; another attempt owns it) is
-- still recorded (it was real spend) with superseded = true, and counted apart
-- (agent_usage_daily / execution_usage .superseded_requests, .superseded_cost).
--
-- Orphans: when the rescuer requeues or fails an attempt it settles that
-- attempt's open rows as outcome 'unknown', superseded (the worker may be
-- dead: nothing in flight exists only in memory). 'unknown' is the one outcome
-- a later completion may still replace, once, with what the call returned: a
-- slow but live worker's late answer is then recorded with its tokens.

CREATE TABLE llm_job_calls (
    job_id          bigint      NOT NULL REFERENCES llm_jobs (id) ON DELETE CASCADE,
    attempt         integer     NOT NULL CONSTRAINT llm_job_calls_attempt_check CHECK (attempt >= 1),
    call_seq        integer     NOT NULL CONSTRAINT llm_job_calls_call_seq_check CHECK (call_seq >= 1),
    worker_id       text        NOT NULL,
    lease_token     uuid        NOT NULL,
    provider        text        NOT NULL,
    model_id        text        NOT NULL,
    fallback_depth  integer     NOT NULL DEFAULT 0,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    outcome         text        CONSTRAINT llm_job_calls_outcome_check
                                CHECK (outcome IN ('success', 'error', 'unknown')),
    superseded      boolean     NOT NULL DEFAULT false,
    CONSTRAINT llm_job_calls_settled_check CHECK ((settled_at IS NULL) = (outcome IS NULL)),
    PRIMARY KEY (job_id, attempt, call_seq)
);

-- The rescuer's and the release's "open calls of these attempts".
CREATE INDEX llm_job_calls_open_idx ON llm_job_calls (job_id, attempt) WHERE settled_at IS NULL;

ALTER TABLE llm_job_calls SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0);

COMMENT ON TABLE llm_job_calls IS
    'Attempt ledger: one row per provider call, written before it is sent; settled once by the completion (or as unknown by the rescuer). Rows go with their job (retention).';
COMMENT ON COLUMN llm_job_calls.lease_token IS
    'Random per worker process: tells apart two lives of one --worker-id.';
COMMENT ON COLUMN llm_job_calls.superseded IS
    'The call''s attempt had lost its lease when it was settled: real spend, not the job''s answer.';

ALTER TABLE model_usage ADD COLUMN call_seq integer;
ALTER TABLE model_usage ADD COLUMN superseded boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN model_usage.call_seq IS
    'llm_job_calls.call_seq of the call (NULL for rows written before the ledger).';
COMMENT ON COLUMN model_usage.superseded IS
    'The call belonged to an attempt that had lost its lease (its job was rescued and run again): billed, but a duplicate of the call that answered the job.';

ALTER TABLE agent_usage_daily ADD COLUMN superseded_requests bigint NOT NULL DEFAULT 0;
ALTER TABLE agent_usage_daily ADD COLUMN superseded_cost numeric NOT NULL DEFAULT 0;
ALTER TABLE execution_usage ADD COLUMN superseded_requests bigint NOT NULL DEFAULT 0;
ALTER TABLE execution_usage ADD COLUMN superseded_cost numeric NOT NULL DEFAULT 0;
COMMENT ON COLUMN agent_usage_daily.superseded_requests IS
    'Of requests: calls of attempts that had lost their lease (duplicate provider calls); their tokens and cost are in the totals too.';

-- Dashboards: "duplicate provider calls" (0017's rule: columns added at the end).
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
       a.tenant_id,
       c.superseded_requests,
       c.superseded_cost
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
               max(last_used_at)                        AS last_used_at,
               sum(superseded_requests)::bigint         AS superseded_requests,
               sum(superseded_cost)                     AS superseded_cost
          FROM agent_usage_daily
         GROUP BY day, agent_id, provider, model_id
       ) c
  LEFT JOIN agents a ON a.id = c.agent_id;

COMMENT ON COLUMN usage_daily_rollup.superseded_requests IS
    'Of requests: duplicate provider calls, made by attempts that had lost their lease (billed; the job was answered by another attempt).';
COMMENT ON COLUMN usage_daily_rollup.superseded_cost IS 'Known cost of the superseded requests (USD), included in cost.';
