-- Benchmark catalog: the openai provider pointed at the local provider-stub, two priced models (the
-- second is the agent's fallback: the same chain the LiteLLM peer gets), one agent.
-- psql -v stub_url=http://127.0.0.1:PORT -f setup.sql
UPDATE llm_providers SET base_url = :'stub_url', api_key_env = 'BENCH_KEY' WHERE name = 'openai';
INSERT INTO llm_models (provider, model_id, display_name, context_window, max_output_tokens,
                        input_cost_per_1k, output_cost_per_1k)
VALUES ('openai', 'bench-model', 'Bench model', 128000, 4096, 0.0025, 0.01),
       ('openai', 'bench-fallback', 'Bench fallback', 128000, 4096, 0.0025, 0.01)
ON CONFLICT (model_id) DO NOTHING;
INSERT INTO agents (id, name, agent_type, model_config)
VALUES ('00000000-0000-0000-0000-00000000be0c', 'bench-agent', 'bench',
        '{"model_id":"bench-model","provider":"openai","temperature":0.7,"max_tokens":null,"top_p":null,"frequency_penalty":null,"presence_penalty":null,"fallback_model_ids":["bench-fallback"]}')
ON CONFLICT (id) DO UPDATE SET model_config = EXCLUDED.model_config;
