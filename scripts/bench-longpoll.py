#!/usr/bin/env python3
"""Long-poll wake-up latency of a running model-registry (GET /api/jobs/{id}?wait=).

For each round: enqueue a job through the API, start GET ?wait=30, wait until its waiter row is in
llm_job_waiters, then complete the job the way the worker's completer does (UPDATE + the gated
pg_notify('llm_jobs_done', ...), one transaction, through one persistent psql session) and measure
from sending that transaction to receiving the HTTP answer (an upper bound of notify -> answer).

    DATABASE_URL=... python3 scripts/bench-longpoll.py http://127.0.0.1:8080 [rounds] [token]
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

api = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
token = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("SWITCHBOARD_API_TOKEN")
database = os.environ["DATABASE_URL"]


def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


psql = subprocess.Popen(["psql", database, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def sql(text):
    psql.stdin.write(text + "\nSELECT 'end-of-batch';\n")
    psql.stdin.flush()
    lines = []
    while True:
        line = psql.stdout.readline().strip()
        if line == "end-of-batch":
            return lines
        lines.append(line)


agent = call("POST", "/api/agents", {"name": "bench-longpoll", "agent_type": "chat"})["id"]
latencies = []
for _ in range(rounds):
    job = call("POST", "/api/jobs", {"agent_id": agent, "messages": [{"role": "user", "content": "hi"}]})["id"]
    answer = {}

    def poll():
        answer["job"] = call("GET", f"/api/jobs/{job}?wait=30")
        answer["at"] = time.perf_counter()

    thread = threading.Thread(target=poll)
    thread.start()
    while sql(f"SELECT count(*) FROM llm_job_waiters WHERE job_id = {job};")[0] == "0":
        time.sleep(0.005)
    sent = time.perf_counter()
    sql(f"""BEGIN;
UPDATE llm_jobs SET status = 'succeeded', result = '{{"content": "x", "model": "m", "provider": "p"}}',
       finished_at = now(), updated_at = now() WHERE id = {job};
SELECT pg_notify('llm_jobs_done', '{job}') WHERE EXISTS (SELECT 1 FROM llm_job_waiters WHERE job_id = ANY('{{{job}}}'::bigint[]));
COMMIT;""")
    thread.join()
    assert answer["job"]["status"] == "succeeded", answer
    latencies.append((answer["at"] - sent) * 1000)

latencies.sort()
print(f"rounds={rounds} completion->answer ms: p50={statistics.median(latencies):.1f} "
      f"p90={latencies[int(len(latencies) * 0.9) - 1]:.1f} max={latencies[-1]:.1f}")
psql.stdin.close()
psql.wait()
