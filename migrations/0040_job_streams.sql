-- Live streaming (issue 24): where the worker pushes a streaming /v1 job's deltas. The registry
-- instance that holds the client writes its callback address and a per-job random secret here
-- right after enqueueing the job, and deletes the row when the client's stream ends; the worker
-- reads it on the job's first content delta. Deltas themselves never touch the database (no
-- per-token NOTIFY, no chunk table): the result and usage are committed to llm_jobs as for any job.
CREATE TABLE llm_job_streams (
    job_id       bigint      PRIMARY KEY REFERENCES llm_jobs (id) ON DELETE CASCADE,
    -- The registry's base URL as the workers reach it (SWITCHBOARD_STREAM_CALLBACK_URL).
    callback_url text        NOT NULL CHECK (callback_url ~ '^https?://'),
    -- Bearer secret the push must present; 32 random bytes, hex.
    secret       text        NOT NULL CHECK (length(secret) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE llm_job_streams IS
    'Streaming /v1 calls waiting for their deltas: the registry''s callback address and the push secret (issue 24).';
