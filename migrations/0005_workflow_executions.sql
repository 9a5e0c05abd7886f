-- 0005_workflow_executions.sql
--
-- One row per workflow run. Jobs (llm_jobs.execution_id) belong to at most one
-- execution; the gateway's batch completer folds each finished attempt into
-- models_used, so a run's model mix and spend is readable without scanning
-- model_usage.
--
-- models_used shape, aggregated per (agent, model):
--
--   { "<agent_id>": { "<model_id>": { "requests": 3, "successes": 3, "errors": 0,
--                                     "input_tokens": 1200, "output_tokens": 300,
--                                     "cached_input_tokens": 0,
--                                     "cost": 0.0042, "unpriced_requests": 0 } } }
--
-- Nested objects rather than a combined "agent/model" key because model ids may
-- themselves contain '/' and ':'. Same counter names as agents.model_usage_stats;
-- "requests" counts provider attempts; "cost" sums known costs, and
-- "unpriced_requests" counts attempts with an unknown price. Merge with
-- jsonb_merge_counters() (0008): one UPDATE per execution per completion batch.

CREATE TABLE workflow_executions (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'running'
                            CONSTRAINT workflow_executions_status_check
                            CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    models_used jsonb       NOT NULL DEFAULT '{}'::jsonb
                            CONSTRAINT workflow_executions_models_used_check
                            CHECK (jsonb_typeof(models_used) = 'object'),
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb
                            CONSTRAINT workflow_executions_metadata_check
                            CHECK (jsonb_typeof(metadata) = 'object'),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
)
-- A running execution's row is rewritten once per completion batch that touched
-- it. Free space on the page keeps those updates HOT (models_used/updated_at are
-- not indexed), and HOT pruning then reclaims the old versions without VACUUM.
WITH (fillfactor = 70);

CREATE INDEX workflow_executions_started_at_idx ON workflow_executions (started_at);
CREATE INDEX workflow_executions_running_idx ON workflow_executions (started_at)
    WHERE status = 'running';

COMMENT ON TABLE workflow_executions IS
    'Workflow runs; models_used aggregates requests, tokens and cost per (agent, model).';
COMMENT ON COLUMN workflow_executions.models_used IS
    '{"<agent_id>": {"<model_id>": {"requests","successes","errors","input_tokens","output_tokens","cached_input_tokens","cost","unpriced_requests"}}}';
