-- 0002_agents_model_config.sql
--
-- Gives every agent a structured model configuration and per-model usage stats,
-- and backfills the configuration from the legacy columns of 0001.
--
-- model_config shape (snake_case; the registry API reads and writes exactly this
-- object, and the gateway resolves the model chain from it):
--
--   {
--     "model_id":           "gpt-4o-mini",   -- llm_models.model_id of the primary model
--     "provider":           "openai",        -- llm_providers.name of that model (informational:
--                                            --   the gateway takes each model's provider from the catalog)
--     "temperature":        0.7,             -- number
--     "max_tokens":         null,            -- integer or null (null = model/provider default)
--     "top_p":              null,            -- number or null (null = provider default)
--     "frequency_penalty":  0,               -- number (OpenAI-style; ignored by Anthropic)
--     "presence_penalty":   0,               -- number (OpenAI-style; ignored by Anthropic)
--     "fallback_model_ids": []               -- array of llm_models.model_id, tried in order
--   }
--
-- Every key is always present in configs written by the backfill and by the API.
-- model_config IS NULL is allowed (rows written by pre-feature code after this
-- migration): readers then derive the configuration from the legacy columns with the
-- same rules as the backfill below (Catalog's legacy preferred_model mapping).
--
-- model_usage_stats shape (maintained by the gateway's batch completer, keyed by model):
--
--   { "<model_id>": { "requests": 12, "successes": 11, "errors": 1,
--                     "input_tokens": 3400, "output_tokens": 800, "cached_input_tokens": 0,
--                     "cost": 0.0123, "unpriced_requests": 0,
--                     "last_used_at": "2026-11-28T10:00:00Z" } }
--
-- "requests" counts provider attempts (rows of model_usage). "cost" is the sum of the
-- known costs (a JSON number; jsonb stores numbers as exact numeric) and
-- "unpriced_requests" counts attempts whose cost was unknown, so an unknown price never
-- looks like a free one. Merge deltas with jsonb_merge_counters() (0008).

ALTER TABLE agents
    ADD COLUMN model_config      jsonb,
    ADD COLUMN model_usage_stats jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Light shape guard only; full validation (known model, temperature range, ...)
-- belongs to the API, which can report field-level errors.
ALTER TABLE agents
    ADD CONSTRAINT agents_model_config_shape_check CHECK (
        model_config IS NULL OR (
            jsonb_typeof(model_config) = 'object'
            -- coalesce: a missing key gives NULL, which a CHECK would let through
            AND coalesce(jsonb_typeof(model_config -> 'model_id'), 'missing') = 'string'
            AND model_config ->> 'model_id' <> ''
            AND coalesce(jsonb_typeof(model_config -> 'fallback_model_ids'), 'array') = 'array'
        )
    ),
    ADD CONSTRAINT agents_model_usage_stats_shape_check CHECK (
        jsonb_typeof(model_usage_stats) = 'object'
    );

-- Backfill from the legacy columns:
--   * preferred_model starting with "claude" (case-insensitive) -> provider anthropic,
--     any other non-blank value -> provider openai;
--   * no legacy model (NULL or blank) -> the catalog default, gpt-4o-mini on openai;
--   * temperature: the legacy value, else 0.7; clamped into the provider's range
--     (Anthropic 0..1, OpenAI 0..2) so every backfilled config passes API validation;
--   * max_tokens: the legacy value when positive, else null;
--   * no fallbacks: the gateway and API decide what to do with a retired primary model
--     (llm_models.successor_model_id), the migration does not invent a chain.
-- updated_at is left alone: this is not a user edit.
WITH legacy AS (
    SELECT a.id,
           nullif(btrim(a.preferred_model), '') AS model_id,
           a.temperature,
           a.max_tokens
      FROM agents a
     WHERE a.model_config IS NULL
), resolved AS (
    SELECT id,
           coalesce(model_id, 'gpt-4o-mini') AS model_id,
           CASE WHEN lower(model_id) LIKE 'claude%' THEN 'anthropic' ELSE 'openai' END AS provider,
           temperature,
           max_tokens
      FROM legacy
)
UPDATE agents a
   SET model_config = jsonb_build_object(
           'model_id',           r.model_id,
           'provider',           r.provider,
           'temperature',        greatest(0::double precision,
                                          least(coalesce(r.temperature, 0.7),
                                                CASE r.provider WHEN 'anthropic' THEN 1 ELSE 2 END)),
           'max_tokens',         CASE WHEN r.max_tokens > 0 THEN r.max_tokens END,
           'top_p',              NULL,
           'frequency_penalty',  0,
           'presence_penalty',   0,
           'fallback_model_ids', '[]'::jsonb
       )
  FROM resolved r
 WHERE a.id = r.id;

-- jsonb_path_ops: smaller and faster than the default opclass, and supports the
-- containment queries we need, e.g. "which agents use model X":
--   WHERE model_config @> '{"model_id": "gpt-4"}'
--      OR model_config @> '{"fallback_model_ids": ["gpt-4"]}'
CREATE INDEX agents_model_config_gin ON agents USING gin (model_config jsonb_path_ops);

-- The gateway's batch completer rewrites model_usage_stats of active agents many
-- times a minute. Leaving 20% of each page free lets those updates stay HOT (same
-- page, no new index entries; neither column it touches is indexed except via the
-- GIN index on model_config, which it never changes). Applies to newly written pages.
ALTER TABLE agents SET (fillfactor = 80);

COMMENT ON COLUMN agents.model_config IS
    'Model configuration: {"model_id","provider","temperature","max_tokens","top_p","frequency_penalty","presence_penalty","fallback_model_ids"}. NULL = derive from legacy columns.';
COMMENT ON COLUMN agents.model_usage_stats IS
    'Per-model running totals maintained by the gateway: {"<model_id>": {"requests","successes","errors","input_tokens","output_tokens","cached_input_tokens","cost","unpriced_requests","last_used_at"}}.';
