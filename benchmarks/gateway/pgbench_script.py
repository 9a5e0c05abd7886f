#!/usr/bin/env python3
"""Generates pgbench_gateway.sql, the ceiling run of `make bench`, from the gateway's own SQL.

The claim and the completion transaction (job rows, usage rows, agent counters, long-poll notify) are
copied verbatim from Sources/Gateway/GatewayStore.swift; each Swift interpolation is replaced by a
pgbench variable from a fixed table below. What pgbench cannot do is added and marked `-- bench:`:
it cannot carry the claim's RETURNING rows into the next statement, so one extra SELECT builds the
three JSON documents (what the worker's CompletionBatch writes) for the jobs this client just claimed.

  pgbench_script.py           print the script
  pgbench_script.py --write   rewrite benchmarks/gateway/pgbench_gateway.sql
  pgbench_script.py --check   exit 1 when the committed script differs from what the Swift source
                              gives (make bench runs this first; so does tests/integration)

It also fails when GatewayStore.swift grows a statement shape or an interpolation it does not know:
then this table (and maybe the documents SELECT) needs a look, on purpose.
"""
import os
import re
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.join(ROOT, "Sources", "Gateway", "GatewayStore.swift")
SCRIPT = os.path.join(HERE, "pgbench_gateway.sql")

# Which triple-quoted literal is which statement: a phrase found in exactly one of them.
STATEMENTS = {
    "claim": "SET status = 'running', attempt = j.attempt + 1",
    "open_calls": "INSERT INTO llm_job_calls (job_id, attempt, call_seq, worker_id",
    "complete_jobs": "jsonb_to_recordset(\\(PostgresJSONText(batch.jobsJSON)))",
    "usage": "INSERT INTO model_usage",
    "agent_counters": "INSERT INTO agent_usage_daily",
    "notify_done": "pg_notify('llm_jobs_done'",
    "counter_columns": "agent_id uuid, provider text, model_id text, requests bigint",
    "counter_updates": "requests = c.requests + EXCLUDED.requests",
}

# Every interpolation those statements may contain, and what pgbench runs instead.
WORKER = "('pgb' || :client_id)"
SUBSTITUTIONS = {
    "\\(limit)": ":batch",
    "\\(workerID)": WORKER,
    "\\(lease.seconds)": "60",
    "\\(PostgresJSONText(batch.jobsJSON))": ":jobs",
    "\\(PostgresJSONText(batch.usageJSON))": ":usage",
    "\\(PostgresJSONText(counters.agent))": ":counters",
    "\\(payloads)": "string_to_array(:ids, ',')",
    "\\(ids)": "string_to_array(:ids, ',')",
    # the attempt ledger: one call per claimed job, recorded before it is sent, settled by the completion
    "\\(leaseToken)": "'00000000-0000-0000-0000-00000000be0c'::uuid",
    "\\(sorted.map { String($0.attempt.id) })": "string_to_array(:ids, ',')",
    "\\(sorted.map { String($0.attempt.attempt) })": "string_to_array(:attempts, ',')",
    "\\(sorted.map(\\.provider))": "array_fill('openai'::text, ARRAY[cardinality(string_to_array(:ids, ','))])",
    "\\(sorted.map(\\.modelID))": "array_fill('bench-model'::text, ARRAY[cardinality(string_to_array(:ids, ','))])",
    "\\(sorted.map { String($0.fallbackDepth) })": "array_fill(0, ARRAY[cardinality(string_to_array(:ids, ','))])",
    "\\(acceptedSorted.map { String($0.id) })": "string_to_array(:ids, ',')",
    "\\(acceptedSorted.map { String($0.attempt) })": "string_to_array(:attempts, ',')",
}

# bench: the documents the worker would bind, for the jobs this client holds (a provider-stub reply).
DOCUMENTS = f"""-- bench: pgbench cannot keep the claim's RETURNING rows, so this builds the completion's three JSON
-- documents (as CompletionBatch writes them) for the jobs this client just claimed, by lease owner.
SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'attempt', attempt, 'status', 'succeeded',
         'result', '{{"content": "Stub reply to: hello","tool_calls": [],"finish_reason": "stop","refusal": null,"model": "bench-model","provider": "openai","fallback_depth": 0,"usage": {{"input_tokens": 12,"output_tokens": 9,"cached_input_tokens": null,"cache_creation_input_tokens": null,"reasoning_tokens": null}},"cost": 0.00012,"provider_request_id": "req_1","response_id": "chatcmpl-1","warnings": [],"attempts": 1}}'::jsonb,
         'error', NULL) ORDER BY id), '[]')::text AS jobs,
       coalesce(jsonb_agg(jsonb_build_object('job_id', id, 'execution_id', NULL, 'agent_id', agent_id,
         'provider', 'openai', 'model_id', 'bench-model', 'fallback_depth', 0, 'attempt', attempt, 'call_seq', 1, 'outcome', 'success',
         'error_class', NULL, 'http_status', 200, 'input_tokens', 12, 'output_tokens', 9, 'cached_input_tokens', NULL,
         'cache_creation_input_tokens', NULL, 'reasoning_tokens', NULL, 'cost', 0.00012, 'latency_ms', 1,
         'provider_request_id', 'req_1', 'started_at', now(), 'finished_at', now()) ORDER BY id), '[]')::text AS usage,
       jsonb_build_array(jsonb_build_object('agent_id', '00000000-0000-0000-0000-00000000be0c', 'provider', 'openai',
         'model_id', 'bench-model', 'requests', count(*), 'successes', count(*), 'errors', 0, 'fallback_requests', 0,
         'input_tokens', 12 * count(*), 'output_tokens', 9 * count(*), 'cached_input_tokens', 0,
         'cache_creation_input_tokens', 0, 'reasoning_tokens', 0, 'priced_requests', count(*),
         'cost', 0.00012 * count(*), 'latency_ms_sum', count(*)))::text AS counters,
       coalesce(string_agg(id::text, ',' ORDER BY id), '') AS ids,
       coalesce(string_agg(attempt::text, ',' ORDER BY id), '') AS attempts
  FROM llm_jobs WHERE status = 'running' AND lease_owner = {WORKER} \\gset"""


def literals(source):
    """The Swift triple-quoted string literals, dedented as Swift does (by the closing delimiter)."""
    found = []
    for match in re.finditer(r'"""\n(.*?)\n([ \t]*)"""', source, re.S):
        body, indent = match.group(1), match.group(2)
        lines = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in body.split("\n")]
        found.append("\n".join(lines))
    return found


def statements(source):
    blocks = literals(source)
    picked = {}
    for name, phrase in STATEMENTS.items():
        hits = [b for b in blocks if phrase in b]
        if len(hits) != 1:
            raise SystemExit(f"{SOURCE}: {len(hits)} statements contain {phrase!r} (want 1): the gateway's SQL "
                             f"changed shape; update benchmarks/gateway/pgbench_script.py")
        picked[name] = hits[0]
    counter_columns = picked.pop("counter_columns")
    counter_updates = picked.pop("counter_updates")
    for name, text in picked.items():
        text = text.replace("\\(Self.counterColumns)", counter_columns)
        text = text.replace("\\(Self.counterUpdates)", textwrap.indent(counter_updates, "    ").lstrip())
        for swift, pgbench in SUBSTITUTIONS.items():
            text = text.replace(swift, pgbench)
        unknown = re.findall(r"\\\([^)]*\)?", text)
        if unknown:
            raise SystemExit(f"{SOURCE}: statement {name} has interpolations this generator does not know: "
                             f"{unknown}; add them to SUBSTITUTIONS in benchmarks/gateway/pgbench_script.py")
        picked[name] = text
    return picked


def script():
    with open(SOURCE) as f:
        return render(statements(f.read()))


def render(sql):
    parts = [
        "-- GENERATED by benchmarks/gateway/pgbench_script.py from Sources/Gateway/GatewayStore.swift: do not edit.",
        "-- The gateway's claim and completion transaction for one batch, without any provider call.",
        "--   pgbench -n -M prepared -c 4 -j 4 -D batch=64 -T 20 -f pgbench_gateway.sql   (after setup.sql + jobs.sql)",
        "-- The worker's finaliseExecutions and execution counters are left out: the bench jobs have no execution.",
        "-- GatewayStore.claim",
        sql["claim"] + ";",
        DOCUMENTS,
        "-- GatewayStore.openCalls (CallLedger: the ledger rows, before the calls are sent)",
        sql["open_calls"] + ";",
        "BEGIN;",
        "-- GatewayStore.complete: job rows",
        sql["complete_jobs"] + ";",
        "-- GatewayStore.complete: usage rows",
        sql["usage"] + ";",
        "-- GatewayStore.complete: agent counters",
        sql["agent_counters"] + ";",
        "-- GatewayStore.notifyDone",
        sql["notify_done"] + ";",
        "COMMIT;",
    ]
    return "\n".join(parts) + "\n"


def main():
    text = script()
    if "--write" in sys.argv:
        with open(SCRIPT, "w") as f:
            f.write(text)
        print(f"wrote {SCRIPT}")
    elif "--check" in sys.argv:
        try:
            with open(SCRIPT) as f:
                committed = f.read()
        except FileNotFoundError:
            committed = ""
        if committed != text:
            print(f"{SCRIPT} is out of date with Sources/Gateway/GatewayStore.swift: "
                  f"run python3 benchmarks/gateway/pgbench_script.py --write and commit it", file=sys.stderr)
            sys.exit(1)
        print("pgbench_gateway.sql matches GatewayStore.swift")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
