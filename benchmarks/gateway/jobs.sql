-- psql -v njobs=N -f jobs.sql : a backlog of N ready jobs for the bench agent.
INSERT INTO llm_jobs (agent_id, request)
SELECT '00000000-0000-0000-0000-00000000be0c',
       jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'hello ' || g)))
  FROM generate_series(1, :njobs) g;
