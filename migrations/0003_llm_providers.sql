-- 0003_llm_providers.sql
--
-- Where each provider lives and how to talk to it. Secrets never live in the
-- database: api_key_env holds the NAME of an environment variable that the
-- gateway reads at call time (the CHECK rejects anything that is not a valid
-- variable name, which also keeps pasted keys like "sk-..." out).

CREATE TABLE llm_providers (
    name                    text             PRIMARY KEY
                                             CONSTRAINT llm_providers_name_check
                                             CHECK (name ~ '^[a-z0-9][a-z0-9_.-]*$'),
    -- Wire protocol: OpenAI Chat Completions (also HuggingFace router, vLLM, Ollama,
    -- groq, together, ...) or Anthropic Messages.
    api_style               text             NOT NULL
                                             CONSTRAINT llm_providers_api_style_check
                                             CHECK (api_style IN ('openai', 'anthropic')),
    -- Scheme + host (+ optional path prefix), WITHOUT "/v1": adapters append
    -- "/v1/chat/completions" (openai style) or "/v1/messages" (anthropic style).
    base_url                text             NOT NULL
                                             CONSTRAINT llm_providers_base_url_check
                                             CHECK (base_url ~ '^https?://[^/]+'),
    api_key_env             text
                                             CONSTRAINT llm_providers_api_key_env_check
                                             CHECK (api_key_env ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    enabled                 boolean          NOT NULL DEFAULT true,
    connect_timeout_seconds double precision NOT NULL DEFAULT 10
                                             CONSTRAINT llm_providers_connect_timeout_check
                                             CHECK (connect_timeout_seconds > 0),
    request_timeout_seconds double precision NOT NULL DEFAULT 120
                                             CONSTRAINT llm_providers_request_timeout_check
                                             CHECK (request_timeout_seconds > 0),
    created_at              timestamptz      NOT NULL DEFAULT now(),
    updated_at              timestamptz      NOT NULL DEFAULT now()
);

COMMENT ON TABLE llm_providers IS
    'LLM providers: wire style, endpoint, credentials variable name and timeouts.';
COMMENT ON COLUMN llm_providers.base_url IS
    'Base URL without the /v1 suffix; adapters append /v1/chat/completions or /v1/messages.';
COMMENT ON COLUMN llm_providers.api_key_env IS
    'NAME of the environment variable holding the API key (never the key itself). NULL = no credentials needed (e.g. a local server).';
COMMENT ON COLUMN llm_providers.request_timeout_seconds IS
    'Whole-request timeout, connect to last byte.';

INSERT INTO llm_providers (name, api_style, base_url, api_key_env) VALUES
    ('openai',      'openai',    'https://api.openai.com',        'OPENAI_API_KEY'),
    ('anthropic',   'anthropic', 'https://api.anthropic.com',     'ANTHROPIC_API_KEY'),
    ('huggingface', 'openai',    'https://router.huggingface.co', 'HF_TOKEN')
ON CONFLICT (name) DO NOTHING;
