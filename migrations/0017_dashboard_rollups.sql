-- 0017_dashboard_rollups.sql
--
-- Dashboard views over the usage counters, a read-only group role for
-- dashboards, and the state of the gateway's retention (README "Dashboards",
-- "Retention"; ../shared/reviews/schema.md §3.2, §3.4).
--
-- The views are a stable interface: their names and columns are documented in
-- the README and read by docker/grafana/dashboards/switchboard.json. Extend
-- them only by adding columns at the end (CREATE OR REPLACE VIEW in a later
-- migration); never rename or drop a column.
--
-- Conventions (as in 0009):
--   * "requests" = provider attempts, retries and fallbacks included; "errors"
--     = failed attempts; "fallback_requests" = attempts on a fallback model
--     (fallback_depth > 0).
--   * cost = sum of KNOWN costs in USD (exact numeric); NULL when no attempt of
--     the group had a known cost. Failed attempts have no cost, so they count in
--     unpriced_requests; unpriced_successes counts successful calls whose price
--     is unknown (a catalog gap worth fixing).
--   * day = UTC calendar day; bucket_start = that day's first instant
--     (timestamptz) for Grafana's time column and $__timeFilter.

------------------------------------------------------------------------------
-- 1. Views
------------------------------------------------------------------------------

-- Per UTC day × agent × provider × model, from the counters (agent_usage_daily,
-- written in the same transaction as the usage rows): cheap over any range and
-- unaffected by the retention of model_usage and llm_jobs.
CREATE VIEW usage_daily_rollup AS
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
       c.latency_ms_sum
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

COMMENT ON VIEW usage_daily_rollup IS
    'Per UTC day, agent, provider and model, from the counters (kept after raw rows are pruned): requests, successes, errors, fallbacks, tokens, cost (USD, NULL = unknown), latency. Filter on day or bucket_start.';
COMMENT ON COLUMN usage_daily_rollup.bucket_start IS 'Start of the UTC day (timestamptz), for Grafana''s time column.';
COMMENT ON COLUMN usage_daily_rollup.fallback_rate IS 'fallback_requests / requests, 0..1, 4 decimals.';
COMMENT ON COLUMN usage_daily_rollup.cost IS 'Sum of known costs in USD; NULL when none was known.';
COMMENT ON COLUMN usage_daily_rollup.unpriced_requests IS 'Attempts without a known cost (failed attempts, and successes whose price is unknown).';
COMMENT ON COLUMN usage_daily_rollup.latency_ms_sum IS 'Sum of all attempts'' latency (ms): sum(latency_ms_sum) / sum(requests) is the mean over any grouping.';
COMMENT ON COLUMN usage_daily_rollup.unpriced_successes IS 'Successful calls whose price is unknown (excluded from cost).';

-- Per UTC day: fallback share per agent (attempts on a fallback model / all attempts).
CREATE VIEW fallback_rate_daily AS
SELECT day, bucket_start, agent_id, agent_name,
       sum(requests)::bigint                                                       AS requests,
       sum(fallback_requests)::bigint                                              AS fallback_requests,
       round(sum(fallback_requests)::numeric / nullif(sum(requests), 0), 4)         AS fallback_rate,
       sum(errors)::bigint                                                         AS errors,
       round(sum(errors)::numeric / nullif(sum(requests), 0), 4)                    AS error_rate
  FROM usage_daily_rollup
 GROUP BY day, bucket_start, agent_id, agent_name;

COMMENT ON VIEW fallback_rate_daily IS
    'Per UTC day and agent: requests, fallback_requests, fallback_rate (0..1), errors, error_rate. From the counters.';

-- Agents by spend over the last 30 UTC days (today included), most expensive first.
CREATE VIEW most_expensive_agents AS
SELECT agent_id, agent_name,
       CASE WHEN sum(requests - unpriced_requests) > 0 THEN sum(cost) END            AS cost,
       sum(requests)::bigint                                                       AS requests,
       sum(total_tokens)::bigint                                                   AS total_tokens,
       sum(unpriced_successes)::bigint                                             AS unpriced_successes,
       max(last_used_at)                                                           AS last_used_at
  FROM usage_daily_rollup
 WHERE day >= (now() AT TIME ZONE 'UTC')::date - 29
 GROUP BY agent_id, agent_name
 ORDER BY cost DESC NULLS LAST, requests DESC;

COMMENT ON VIEW most_expensive_agents IS
    'Agents by cost over the last 30 UTC days (today included), most expensive first: cost (USD, NULL = unknown), requests, total_tokens, unpriced_successes, last_used_at.';

-- Latency percentiles of SUCCESSFUL calls per UTC day × provider × model, from
-- the raw rows (model_usage) of the last 7 UTC days (today included). The
-- bound is on created_at, so only those days' partitions are read; raw rows
-- older than the usage retention are gone anyway. Failed calls are counted,
-- not timed (a timeout would dominate the percentiles).
CREATE VIEW model_latency_daily AS
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
       max(mu.latency_ms) FILTER (WHERE mu.outcome = 'success')                     AS max_latency_ms
  FROM model_usage mu
 WHERE mu.created_at >= ((now() AT TIME ZONE 'UTC')::date - 6)::timestamp AT TIME ZONE 'UTC'
 GROUP BY 1, 2, 3, 4;

COMMENT ON VIEW model_latency_daily IS
    'Last 7 UTC days, per day, provider and model: successes, errors, p50/p95/p99/avg/max latency (ms) of successful calls. From raw rows (model_usage).';

COMMENT ON VIEW llm_queue_status IS
    'One row: queued, ready (run_at reached), running, expired_leases, oldest_ready_age_seconds (NULL when nothing is ready). Queue depth and age for dashboards.';

------------------------------------------------------------------------------
-- 2. Read-only dashboard role
------------------------------------------------------------------------------

-- switchboard_dashboard: a NOLOGIN group role that may read the dashboard
-- views and nothing else (views run with their owner's rights, so no grant on
-- llm_jobs, agents, llm_providers or config_changes is needed or given: those
-- hold prompts, results and configuration). Login roles (e.g. grafana_reader,
-- docker/postgres/initdb.d/10-dashboard-role.sh) become its members.
--
-- Roles belong to the cluster, not the database: created here only when the
-- migrating user may (superuser or CREATEROLE); otherwise a NOTICE says so and
-- the grants below are skipped until an administrator creates the role and
-- re-grants (README "Dashboards").
--
-- statement_timeout: set on this role for sessions that log in as it directly.
-- PostgreSQL applies ALTER ROLE ... SET only for the role a session logs in as
-- (not for roles it is a member of), so every login member needs its own
-- ALTER ROLE <login> SET statement_timeout (the initdb script does that).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_dashboard') THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            BEGIN
                CREATE ROLE switchboard_dashboard NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database on this cluster
            END;
        ELSE
            RAISE NOTICE 'switchboard_dashboard: role absent and % may not create roles; skipping dashboard grants (see README "Dashboards")', current_user;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_dashboard') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO switchboard_dashboard', current_schema());
        GRANT SELECT ON usage_daily_rollup, fallback_rate_daily, most_expensive_agents, model_latency_daily,
                        llm_queue_status, usage_daily, usage_by_agent_model, agent_usage_stats
           TO switchboard_dashboard;
        -- Once per cluster (every database's migration gets here): concurrent ALTER ROLEs of
        -- one role fail with "tuple concurrently updated".
        IF NOT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                        WHERE r.rolname = 'switchboard_dashboard' AND s.setdatabase = 0
                          AND EXISTS (SELECT 1 FROM unnest(s.setconfig) c WHERE c LIKE 'statement\_timeout=%')) THEN
            BEGIN
                ALTER ROLE switchboard_dashboard SET statement_timeout = '10s';
            EXCEPTION WHEN OTHERS THEN
                RAISE NOTICE 'switchboard_dashboard: statement_timeout not set (%): set it on the login roles', SQLERRM;
            END;
        END IF;
    END IF;
END
$$;

------------------------------------------------------------------------------
-- 3. Retention state (llm-gateway --retention-*)
------------------------------------------------------------------------------

-- Where the pruning of finished llm_jobs has got to: rows below next_id have
-- been visited (only stragglers, jobs unfinished or not old enough at the time,
-- remain below it; the pruner sweeps those separately). One row per pruned table.
CREATE TABLE retention_cursor (
    name       text        PRIMARY KEY,
    next_id    bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO retention_cursor (name, next_id) VALUES ('llm_jobs', 0);

COMMENT ON TABLE retention_cursor IS
    'llm-gateway retention: the next llm_jobs id to visit (ids below it were visited; stragglers are swept separately).';
