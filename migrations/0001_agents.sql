-- 0001_agents.sql
--
-- The `agents` table in the shape it had BEFORE Switchboard: an agent picked its
-- model through the free-text `preferred_model` column plus optional
-- `temperature` / `max_tokens`. 0002 adds the structured `model_config` and
-- backfills it from these legacy columns; the legacy columns stay (read-only as
-- far as Switchboard is concerned) so older readers keep working.
--
-- CREATE TABLE IF NOT EXISTS on purpose: production databases already have this
-- table from the pre-feature system, and this migration must adopt it rather
-- than fail. On a fresh database it creates it.

CREATE TABLE IF NOT EXISTS agents (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text        NOT NULL,
    agent_type      text        NOT NULL,
    description     text,
    skills          text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'active'
                                CONSTRAINT agents_status_check
                                CHECK (status IN ('active', 'inactive', 'archived')),
    -- Legacy model selection (pre-Switchboard). Superseded by model_config (0002).
    preferred_model text,
    temperature     double precision,
    max_tokens      integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE agents IS
    'AI agents. Each agent runs its LLM calls on its own model (model_config, added in 0002).';
COMMENT ON COLUMN agents.preferred_model IS
    'LEGACY free-text model name from before model_config existed. Read only for backward compatibility; new code writes model_config.';
COMMENT ON COLUMN agents.temperature IS
    'LEGACY sampling temperature; superseded by model_config.temperature.';
COMMENT ON COLUMN agents.max_tokens IS
    'LEGACY output token limit; superseded by model_config.max_tokens.';
