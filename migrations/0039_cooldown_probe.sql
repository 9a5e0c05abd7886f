-- Half-open cooldowns (issue 22, F10): when a model's shared cooldown ends, one worker probes it
-- with one call while every other worker keeps skipping it; a successful probe deletes the row
-- (the model is healthy again), a failed one cools it down again. Before, every worker of the
-- fleet resumed calling the model at the same instant.
ALTER TABLE llm_model_cooldowns
    ADD COLUMN probe_until  timestamptz,
    ADD COLUMN probe_worker text;

COMMENT ON COLUMN llm_model_cooldowns.probe_until IS
    'After until: the worker probe_worker is making the one probe call until then; the others skip the model. NULL: nobody probes.';
