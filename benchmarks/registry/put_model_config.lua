-- wrk script: PUT /api/agents/{id}/model-config round-robin over the agents given after `--`,
-- alternating two valid configurations so every request is a real change (validation, row lock,
-- update, audit row, NOTIFY).   wrk -s put_model_config.lua http://127.0.0.1:PORT -- TOKEN ID1 ID2 ...
local ids = {}
local headers = {}
local counter = 0
local bodies = {
  '{"model_id": "bench-model", "temperature": 0.3, "max_tokens": 2000, "fallback_model_ids": ["bench-fallback"]}',
  '{"model_id": "bench-model", "temperature": 0.4, "max_tokens": 1000, "fallback_model_ids": ["bench-fallback"]}',
}

-- runs in the main state once per thread: spread the threads over the agents
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 17)
end

function init(args)
  headers["Authorization"] = "Bearer " .. args[1]
  headers["Content-Type"] = "application/json"
  for i = 2, #args do ids[#ids + 1] = args[i] end
  counter = offset or 0
end

function request()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  return wrk.format("PUT", "/api/agents/" .. id .. "/model-config", headers, bodies[(counter % 2) + 1])
end
