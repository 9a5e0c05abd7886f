#!/usr/bin/env python3
"""Registry API with wrk, a part of `make bench` (also `make bench-registry`).

A database of its own on the bench cluster (`registrybench`), migrated, with the LiteLLM catalog
imported (../shared/data/litellm) and 64 agents; one release `model-registry serve` on 127.0.0.1 with a
token. wrk at fixed concurrency (-t2 -c32 unless BENCH_THREADS/BENCH_CONNECTIONS), a 3 s warm-up then
--seconds per endpoint: GET /healthz (the base), GET /api/models (the default page: 100 models),
PUT /api/agents/{id}/model-config (put_model_config.lua, round-robin over the agents, alternating two
valid configurations). Requests/s, p99, ratio to /healthz, and server + Postgres CPU per 1,000 requests.
GET /api/models is measured twice more, side by side: with a database API key (viewer; looked up by
its hash at most once a second) and again with the environment's admin token, so key auth shows as a
ratio to the token in the same run.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from common import (BIN, ROOT, free_port, postgres_cpu, proc_cpu, psql, row, start, stop_all, wait_http,  # noqa: E402
                    write_part)

TOKEN = "bench-token"
CATALOG = os.path.join(ROOT, "..", "shared", "data", "litellm", "model_prices_and_context_window.json")


def api(base, method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def to_ms(text):
    value = float(re.match(r"[0-9.]+", text).group())
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("m"):
        return value * 60_000
    return value * 1000  # seconds


def wrk(base, path, seconds, threads, connections, server, postmaster, script=None, script_args=(), token=TOKEN):
    args = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        args += ["-s", script]
    tail = ["--", *script_args] if script_args else []
    subprocess.run(args + ["-d3s", base + path] + tail, check=True, capture_output=True)  # warm-up
    cpu0, pg0 = proc_cpu(server.pid), postgres_cpu(postmaster)
    out = subprocess.run(args + [f"-d{seconds}s", base + path] + tail, check=True, capture_output=True,
                         text=True).stdout
    cpu1, pg1 = proc_cpu(server.pid), postgres_cpu(postmaster)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    total = int(re.search(r"([0-9]+) requests in", out).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"requests_per_s": rps, "requests": total, "p50_ms": p50, "p99_ms": p99,
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(0) if errors else None,
            "server_cpu_s_per_1k": (cpu1 - cpu0) * 1000 / max(total, 1),
            "postgres_cpu_s_per_1k": (pg1 - pg0) * 1000 / max(total, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "32")))
    parser.add_argument("--agents", type=int, default=64)
    options = parser.parse_args()
    postmaster = int(os.environ["BENCH_POSTMASTER_PID"])
    url = os.environ["DATABASE_URL"]
    psql(url, "DROP DATABASE IF EXISTS registrybench")
    psql(url, "CREATE DATABASE registrybench")
    db = url.rsplit("/", 1)[0] + "/registrybench"  # scripts/bench.sh's cluster: postgresql://…/switchboard
    env = dict(os.environ, DATABASE_URL=db, LOG_LEVEL="warning", SWITCHBOARD_ADMIN_TOKEN=TOKEN)
    registry = os.path.join(BIN, "model-registry")
    subprocess.run([registry, "migrate"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run([registry, "import-catalog", "--format", "litellm", CATALOG], env=env, check=True,
                   capture_output=True, cwd=ROOT)
    psql(db, file=os.path.join(ROOT, "benchmarks", "gateway", "setup.sql"), variables={"stub_url": "http://127.0.0.1:9"})
    port = free_port()
    server = start([registry, "serve", "--host", "127.0.0.1", "--port", str(port)], "bench-registry.log", env)
    base = f"http://127.0.0.1:{port}"
    rows, data = [], {}
    try:
        wait_http(base + "/healthz", "model-registry")
        models = api(base, "GET", "/api/models")
        ids = [api(base, "POST", "/api/agents", {"name": f"bench {i}", "agent_type": "bench"})["id"]
               for i in range(options.agents)]
        api(base, "PUT", f"/api/agents/{ids[0]}/model-config",
            {"model_id": "bench-model", "temperature": 0.3, "fallback_model_ids": ["bench-fallback"]})
        common = dict(seconds=options.seconds, threads=options.threads, connections=options.connections,
                      server=server, postmaster=postmaster)
        health = data["healthz"] = wrk(base, "/healthz", **common)
        listing = data["models"] = wrk(base, "/api/models", **common)
        put = data["put_model_config"] = wrk(base, "/api/agents", script=os.path.join(HERE, "put_model_config.lua"),
                                             script_args=[TOKEN, *ids], **common)
        key = subprocess.run([registry, "keys", "create", "--role", "viewer", "--name", "bench"], env=env, check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout.strip()
        # Interleaved (key, token, key, token) so drift in the machine's load hits both alike.
        halves = dict(common, seconds=max(1, options.seconds // 2))
        runs = {"key": [], "token": []}
        for _ in range(2):
            runs["key"].append(wrk(base, "/api/models", token=key, **halves))
            runs["token"].append(wrk(base, "/api/models", **halves))

        def merged(parts):
            total = sum(p["requests"] for p in parts)
            return {"requests_per_s": sum(p["requests_per_s"] for p in parts) / len(parts), "requests": total,
                    "p99_ms": max(p["p99_ms"] for p in parts),
                    "postgres_cpu_s_per_1k": sum(p["postgres_cpu_s_per_1k"] * p["requests"] for p in parts) / max(total, 1),
                    "runs": parts}
        with_key = data["models_with_key"] = merged(runs["key"])
        with_token = data["models_with_token_again"] = merged(runs["token"])
        key_ratio = with_key["requests_per_s"] / with_token["requests_per_s"]
        data["key_auth_ratio"] = key_ratio
        data["models_page"] = {"count": models.get("count"), "total": models.get("total")}
        data["wrk"] = f"wrk -t{options.threads} -c{options.connections} -d{options.seconds}s --latency"
        for name, r in (("GET /healthz (base)", health), (f"GET /api/models ({models.get('count')} of "
                                                          f"{models.get('total')} models)", listing),
                        (f"PUT /api/agents/{{id}}/model-config ({options.agents} agents)", put)):
            ratio = r["requests_per_s"] / health["requests_per_s"]
            r["ratio_to_healthz"] = ratio
            rows.append(row(f"registry: {name}",
                            f"{r['requests_per_s']:,.0f} req/s ({ratio:.2f}× /healthz); p99 {r['p99_ms']:.2f} ms",
                            f"{data['wrk']}; non-2xx {r['non_2xx']}; CPU s per 1,000 requests: server "
                            f"{r['server_cpu_s_per_1k']:.3f}, Postgres {r['postgres_cpu_s_per_1k']:.3f}"))
        rows.append(row("registry: GET /api/models with an API key",
                        f"{with_key['requests_per_s']:,.0f} req/s = {key_ratio:.3f}× the admin token's "
                        f"{with_token['requests_per_s']:,.0f} (target ≥ 0.95); p99 {with_key['p99_ms']:.2f} vs "
                        f"{with_token['p99_ms']:.2f} ms",
                        f"{data['wrk']} in halves, key and token interleaved twice; Postgres CPU s per 1,000: "
                        f"{with_key['postgres_cpu_s_per_1k']:.3f} vs {with_token['postgres_cpu_s_per_1k']:.3f}"))
    finally:
        stop_all()
        write_part(rows, data)


if __name__ == "__main__":
    main()
