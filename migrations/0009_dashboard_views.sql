-- 0009_dashboard_views.sql
--
-- Read-only views for SQL dashboards (Grafana, psql, BI tools). Their names and
-- column names/types are a stable interface documented in the README: extend
-- them only by adding columns at the end (CREATE OR REPLACE VIEW in a new
-- migration), never rename or drop.
--
-- Conventions:
--   * "requests" = provider attempts (rows of model_usage), including retries
--     and fallbacks; "errors" = attempts with outcome 'error'.
--   * cost = sum of KNOWN costs in USD (NUMERIC, exact). NULL when no attempt in
--     the group had a known price; unpriced_requests counts attempts whose cost
--     is unknown, so a partial or missing price is visible, never a silent 0.
--   * Token sums are NULL when no attempt reported that count.
--   * Days are UTC calendar days of model_usage.created_at.

-- Daily usage per (day, agent, provider, model). Filter on "day": the predicate
-- is pushed below the GROUP BY onto model_usage and uses the BRIN index on the
-- UTC day, so "last 30 days" does not read the whole history.
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
       u.p95_latency_ms
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
                                                                    AS p95_latency_ms
          FROM model_usage mu
         GROUP BY 1, 2, 3, 4
       ) u
  LEFT JOIN agents a ON a.id = u.agent_id;

COMMENT ON VIEW usage_daily IS
    'Per UTC day, agent, provider and model: requests (attempts), successes, errors, error_rate, tokens, cost (USD, NULL = unknown), unpriced_requests, avg/p95 latency (ms). Filter on day.';

-- All-time totals per (agent, provider, model). Reads all of model_usage: for
-- large tables prefer usage_daily with a day filter.
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
       u.last_used_at
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
               max(mu.created_at)                                   AS last_used_at
          FROM model_usage mu
         GROUP BY 1, 2, 3
       ) u
  LEFT JOIN agents a ON a.id = u.agent_id;

COMMENT ON VIEW usage_by_agent_model IS
    'All-time totals per agent, provider and model: requests, successes, errors, error_rate, tokens, cost (USD, NULL = unknown), unpriced_requests, latency, first/last use.';

-- Queue health at a glance, one row. Every count goes through the partial
-- indexes of llm_jobs, so it stays cheap however many jobs have finished.
CREATE VIEW llm_queue_status AS
SELECT (SELECT count(*) FROM llm_jobs WHERE status = 'queued')                          AS queued,
       (SELECT count(*) FROM llm_jobs WHERE status = 'queued' AND run_at <= now())      AS ready,
       (SELECT count(*) FROM llm_jobs WHERE status = 'running')                         AS running,
       (SELECT count(*) FROM llm_jobs
         WHERE status = 'running' AND lease_expires_at < now())                         AS expired_leases,
       (SELECT extract(epoch FROM now() - min(run_at))::double precision
          FROM llm_jobs WHERE status = 'queued' AND run_at <= now())                    AS oldest_ready_age_seconds;

COMMENT ON VIEW llm_queue_status IS
    'One row: queued, ready (run_at reached), running, expired_leases, oldest_ready_age_seconds (NULL when nothing is ready).';

COMMENT ON COLUMN usage_daily.day IS 'UTC calendar day of model_usage.created_at.';
COMMENT ON COLUMN usage_daily.requests IS 'Provider attempts, including retries and fallbacks.';
COMMENT ON COLUMN usage_daily.error_rate IS 'errors / requests, 0..1, 4 decimals.';
COMMENT ON COLUMN usage_daily.cost IS 'Sum of known costs in USD; NULL when none was known. See unpriced_requests.';
COMMENT ON COLUMN usage_daily.unpriced_requests IS 'Attempts whose cost is unknown (excluded from cost).';
COMMENT ON COLUMN usage_by_agent_model.cost IS 'Sum of known costs in USD; NULL when none was known. See unpriced_requests.';
COMMENT ON COLUMN usage_by_agent_model.unpriced_requests IS 'Attempts whose cost is unknown (excluded from cost).';
