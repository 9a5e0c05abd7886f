-- 0004_llm_models.sql
--
-- The model catalog: capabilities, limits and prices. Filled by the seed
-- migration (0011), by `model-registry import-catalog` and through the API.
--
-- Prices are exact NUMERIC in USD per 1,000 tokens. NULL means "price unknown"
-- (e.g. HuggingFace router models, whose price depends on the serving provider)
-- and must never be read as 0: usage rows for such models get cost NULL.

CREATE TABLE llm_models (
    id                         uuid             PRIMARY KEY DEFAULT gen_random_uuid(),
    provider                   text             NOT NULL
                                                REFERENCES llm_providers (name) ON UPDATE CASCADE,
    -- Provider-side model name, sent verbatim on the wire. May contain '/', ':'
    -- and '.' (e.g. 'meta-llama/Llama-3.1-8B-Instruct'); no whitespace.
    -- Unique across providers: model_config refers to models by this id alone.
    model_id                   text             NOT NULL
                                                CONSTRAINT llm_models_model_id_key UNIQUE
                                                CONSTRAINT llm_models_model_id_check
                                                CHECK (model_id ~ '^\S+$'),
    display_name               text             NOT NULL,
    model_family               text,
    -- Capability tags, lower_snake_case. Vocabulary used by the seed and the
    -- LiteLLM importer: chat, function_calling, parallel_function_calling,
    -- vision, reasoning, prompt_caching, response_schema, pdf_input,
    -- web_search, computer_use, audio_input, audio_output.
    capabilities               text[]           NOT NULL DEFAULT '{}',
    -- Max input (prompt) tokens; NULL = unknown (the gateway then cannot skip the
    -- model for a too-long request).
    context_window             integer          CONSTRAINT llm_models_context_window_check
                                                CHECK (context_window > 0),
    max_output_tokens          integer          CONSTRAINT llm_models_max_output_tokens_check
                                                CHECK (max_output_tokens > 0),
    supports_functions         boolean          NOT NULL DEFAULT false,
    supports_vision            boolean          NOT NULL DEFAULT false,
    supports_streaming         boolean          NOT NULL DEFAULT true,
    input_cost_per_1k          numeric          CONSTRAINT llm_models_input_cost_check
                                                CHECK (input_cost_per_1k >= 0),
    output_cost_per_1k         numeric          CONSTRAINT llm_models_output_cost_check
                                                CHECK (output_cost_per_1k >= 0),
    -- Price of prompt tokens served from the provider's prompt cache. NULL = no
    -- discount known: price cached tokens at input_cost_per_1k.
    cached_input_cost_per_1k   numeric          CONSTRAINT llm_models_cached_input_cost_check
                                                CHECK (cached_input_cost_per_1k >= 0),
    description                text,
    release_date               date,
    deprecation_date           date,
    -- active/beta: selectable. deprecated: still callable, warn and recommend the
    -- successor. retired: the gateway skips it in a model chain.
    status                     text             NOT NULL DEFAULT 'active'
                                                CONSTRAINT llm_models_status_check
                                                CHECK (status IN ('active', 'beta', 'deprecated', 'retired')),
    -- Task tags for the recommender: reasoning, coding, chat, summarization,
    -- classification, extraction, vision, analysis.
    recommended_for            text[]           NOT NULL DEFAULT '{}',
    -- Temperature limits. Provider defaults: Anthropic 0..1, OpenAI-style 0..2.
    -- min = max means the model accepts only that value (OpenAI reasoning models,
    -- Anthropic models without sampling parameters): adapters should then omit it.
    default_temperature        double precision NOT NULL DEFAULT 0.7,
    min_temperature            double precision NOT NULL DEFAULT 0,
    max_temperature            double precision NOT NULL DEFAULT 2,
    -- Suggested replacement. Plain text, deliberately NOT a foreign key: imports
    -- may name a successor before (or without) adding it to the catalog.
    successor_model_id         text,
    -- Where the row came from: 'seed' (migration), 'litellm' (import-catalog),
    -- 'manual' (API). Importers should not overwrite 'manual' rows.
    source                     text             NOT NULL DEFAULT 'manual',
    created_at                 timestamptz      NOT NULL DEFAULT now(),
    updated_at                 timestamptz      NOT NULL DEFAULT now(),

    CONSTRAINT llm_models_temperature_range_check CHECK (
        min_temperature >= 0
        AND min_temperature <= default_temperature
        AND default_temperature <= max_temperature
    ),
    CONSTRAINT llm_models_successor_check CHECK (successor_model_id <> model_id)
);

CREATE INDEX llm_models_provider_idx ON llm_models (provider);

COMMENT ON TABLE llm_models IS
    'Model catalog: provider, capabilities, limits, exact prices (USD per 1K tokens, NULL = unknown), lifecycle.';
COMMENT ON COLUMN llm_models.model_id IS
    'Provider-side model name, unique in the catalog; may contain / : and .';
COMMENT ON COLUMN llm_models.context_window IS
    'Maximum input tokens (LiteLLM max_input_tokens); NULL = unknown.';
COMMENT ON COLUMN llm_models.input_cost_per_1k IS
    'USD per 1,000 input tokens, exact. NULL = unknown price (never treat as 0).';
COMMENT ON COLUMN llm_models.output_cost_per_1k IS
    'USD per 1,000 output tokens, exact. NULL = unknown price (never treat as 0).';
COMMENT ON COLUMN llm_models.cached_input_cost_per_1k IS
    'USD per 1,000 prompt tokens read from the provider cache. NULL = price them at input_cost_per_1k.';
COMMENT ON COLUMN llm_models.status IS
    'active | beta | deprecated | retired. Retired models are skipped by the gateway.';
COMMENT ON COLUMN llm_models.successor_model_id IS
    'Suggested replacement model_id; plain text, not a foreign key.';
COMMENT ON COLUMN llm_models.source IS
    'Origin of the row: seed, litellm, manual.';
