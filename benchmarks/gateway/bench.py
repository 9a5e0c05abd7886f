#!/usr/bin/env python3
"""llm-gateway benchmarks, a part of `make bench` (benchmarks/run.py). Not a test: it prints figures.

Needs DATABASE_URL and BENCH_POSTMASTER_PID (scripts/bench.sh starts a throwaway cluster) and release
builds of llm-gateway and provider-stub. Scenarios (--only, comma-separated):
  throughput   backlog of --jobs ready jobs, provider-stub at 0 ms, 1 then 2 workers: jobs/s from the
               database's own timestamps (first started_at .. last finished_at), gateway and Postgres
               CPU seconds per 1,000 jobs (/proc; Postgres = every backend + reaped children)
  pgbench      the ceiling: pgbench_gateway.sql (the gateway's claim + completion SQL, generated from
               GatewayStore.swift by pgbench_script.py) at the same batch size, 4 clients (--pgbench-clients), no provider call
  profile      a third 1-worker run under `perf record -g` (kept apart so the profiler does not cost the
               measured runs anything): the gateway's CPU by library and the top symbols
  concurrency  provider-stub at 1 s, 2,000 jobs, one worker --concurrency 2000: wall time, peak RSS
  latency      enqueue->start p50/p99 with an idle worker, NOTIFY path, then the poll path (the
               llm_jobs_notify_new trigger disabled in this throwaway database: no NOTIFY is ever sent)
  governed     issue 23: the throughput run, 1 worker, ungoverned and governed (a key, and three budgets
               that apply to every call: its tenant's, its key's, its agent's, so every call is
               reserved and settled), alternated twice; jobs/s ratio and the CPU per job added
  limits       issue 23, the rest of "governed": the same U G U G runs, governed = the three budgets plus
               a rate limit on the key and on the agent (requests and tokens per minute, the key's
               concurrent jobs; never reached) and a provider quota on the model (never reached), so
               every call takes a quota slot and every usage row feeds the token windows
  sustained    (make bench-sustained) --sustained-minutes on a backlog kept at >= --sustained-jobs
               ready jobs (topped up every 10 s): jobs/s per minute
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import (BIN, LOGS, PGBIN, peak_rss_mb, postgres_cpu, proc_cpu, psql, row, start, start_stub,  # noqa: E402
                    stop, stop_all, write_part, free_port)

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = "00000000-0000-0000-0000-00000000be0c"


def start_worker(url, name, concurrency, batch, extra=(), prefix=()):
    # The key is bound to the stub's host as an operator binds real keys; without the binding every
    # job fails key_not_bound and the run measures nothing (run_jobs checks every job succeeded).
    env = dict(os.environ, DATABASE_URL=url, BENCH_KEY="sk-bench", LOG_LEVEL="warning",
               SWITCHBOARD_KEY_HOSTS="BENCH_KEY=127.0.0.1", SWITCHBOARD_ALLOWED_PRIVATE_HOSTS="127.0.0.1")
    return start([*prefix, os.path.join(BIN, "llm-gateway"), "run", "--worker-id", name, "--concurrency",
                  str(concurrency), "--batch-size", str(batch), "--metrics-port", "0", *extra], f"bench-{name}.log", env)


class Child:
    """The llm-gateway started by `perf record -- llm-gateway …`: its PID, for /proc and signals."""
    def __init__(self, parent):
        self.parent = parent
        for _ in range(200):
            try:
                with open(f"/proc/{parent.pid}/task/{parent.pid}/children") as f:
                    children = f.read().split()
            except FileNotFoundError:
                children = []
            if children:
                self.pid = int(children[0])
                return
            time.sleep(0.01)
        raise SystemExit("perf did not start llm-gateway")

    def poll(self):
        return self.parent.poll()

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=None):
        return self.parent.wait(timeout=timeout)

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)


def setup(url, stub_port):
    psql(url, file=os.path.join(HERE, "setup.sql"), variables={"stub_url": f"http://127.0.0.1:{stub_port}"})


def reset(url):
    psql(url, "TRUNCATE llm_jobs, llm_job_calls, model_usage, agent_usage_daily, execution_usage, llm_gateway_waiters, "
              "budget_periods, budget_alerts, rate_limit_counters, provider_quota_counters; "
              "DELETE FROM llm_model_cooldowns")
    psql(url, "VACUUM ANALYZE llm_jobs")


def backlog(url, jobs):
    reset(url)
    psql(url, file=os.path.join(HERE, "jobs.sql"), variables={"njobs": jobs})
    psql(url, "VACUUM ANALYZE llm_jobs")


def wait_done(url, expected, timeout=900):
    deadline = time.time() + timeout
    done = 0
    while time.time() < deadline:
        done = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status IN ('succeeded','failed','cancelled')"))
        if done >= expected:
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out: {done}/{expected} jobs done")


def window(url):
    text = psql(url, "SELECT count(*), extract(epoch FROM max(finished_at) - min(started_at)), "
                     "count(*) FILTER (WHERE status = 'succeeded'), (SELECT count(*) FROM model_usage), "
                     "count(*) FILTER (WHERE attempt > 1) FROM llm_jobs")
    count, seconds, succeeded, usage, retried = text.split("|")
    return int(count), float(seconds), int(succeeded), int(usage), int(retried)


def run_jobs(url, postmaster, workers, jobs, concurrency, batch, profile=None, extra=(), stub=None, after_backlog=None):
    """A backlog of `jobs`, then `workers` workers until every job is done. CPU in seconds."""
    backlog(url, jobs)
    if after_backlog:
        psql(url, after_backlog)
    pg0 = postgres_cpu(postmaster)
    stub0 = proc_cpu(stub.pid) if stub else 0.0
    began = time.monotonic()
    # The profiled worker runs under perf from its first instruction (attaching with -p later
    # missed the threads the worker starts after the attach).
    prefix = ["perf", "record", "-F", "499", "-g", "-o", profile, "--"] if profile else []
    procs = [start_worker(url, f"w{i}", concurrency, batch, extra, prefix) for i in range(workers)]
    if profile:
        procs[0] = Child(procs[0])
    wait_done(url, jobs)
    wall = time.monotonic() - began
    gateway_cpu = sum(proc_cpu(p.pid) for p in procs)
    pg1 = postgres_cpu(postmaster)
    stub1 = proc_cpu(stub.pid) if stub else 0.0
    rss = max(peak_rss_mb(p.pid) for p in procs)
    for p in procs:
        stop(p)
    count, seconds, succeeded, usage, retried = window(url)
    if succeeded != count:
        failed = psql(url, "SELECT error->>'code', count(*) FROM llm_jobs WHERE status <> 'succeeded' GROUP BY 1")
        raise SystemExit(f"only {succeeded:,} of {count:,} jobs succeeded: a benchmark of failures measures nothing ({failed})")
    return {"workers": workers, "jobs": count, "succeeded": succeeded, "usage_rows": usage, "retried": retried,
            "seconds": seconds, "wall_seconds": wall, "jobs_per_s": count / seconds,
            "gateway_cpu_s_per_1k": gateway_cpu * 1000 / count, "postgres_cpu_s_per_1k": (pg1 - pg0) * 1000 / count,
            "stub_cpu_s_per_1k": (stub1 - stub0) * 1000 / count, "peak_rss_mb": rss, "concurrency": concurrency, "batch": batch}


def pgbench(url, postmaster, jobs, seconds, batch, clients):
    backlog(url, jobs)
    pg0 = postgres_cpu(postmaster)
    out = subprocess.run([os.path.join(PGBIN, "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
                          "-j", str(clients), "-D", f"batch={batch}", "-T", str(seconds),
                          "-f", os.path.join(HERE, "pgbench_gateway.sql"), url],
                         check=True, capture_output=True, text=True).stdout
    pg1 = postgres_cpu(postmaster)
    done = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'"))
    usage = int(psql(url, "SELECT count(*) FROM model_usage"))
    if done >= jobs:
        raise SystemExit(f"pgbench drained the whole backlog ({jobs} jobs): raise --pgbench-jobs")
    return {"jobs": done, "usage_rows": usage, "seconds": seconds, "clients": clients, "batch": batch,
            "jobs_per_s": done / seconds, "postgres_cpu_s_per_1k": (pg1 - pg0) * 1000 / max(done, 1),
            "tps": [line for line in out.splitlines() if line.startswith("tps")]}


def perf_summary(data):
    """The profile by library (dso) and the top symbols, as text lines."""
    def report(sort, limit):
        out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio"],
                             capture_output=True, text=True).stdout
        lines = [line.rstrip() for line in out.splitlines() if line.strip() and line.lstrip()[0].isdigit()]
        return [line for line in lines if "%" in line][:limit]
    return {"by_library": report("dso", 12), "top_symbols": report("dso,sym", 30)}


def latency(url, samples, notify):
    """One idle worker (default --poll-interval 1 s); `samples` single-row inserts 20 ms apart."""
    reset(url)
    trigger = "ENABLE" if notify else "DISABLE"
    psql(url, f"ALTER TABLE llm_jobs {trigger} TRIGGER llm_jobs_notify_new")
    try:
        worker = start_worker(url, "idle-notify" if notify else "idle-poll", 256, 64)
        time.sleep(2)  # idle, LISTENing and registered in llm_gateway_waiters
        statements = []
        for i in range(samples):
            statements.append(f"INSERT INTO llm_jobs (agent_id, request) VALUES ('{AGENT}', "
                              f"'{{\"messages\":[{{\"role\":\"user\",\"content\":\"ping {i}\"}}]}}');")
            statements.append("SELECT pg_sleep(0.02);")
        script = os.path.join(LOGS, "bench-latency.sql")
        with open(script, "w") as f:
            f.write("\n".join(statements))
        psql(url, file=script)
        wait_done(url, samples)
        stop(worker)
    finally:
        psql(url, "ALTER TABLE llm_jobs ENABLE TRIGGER llm_jobs_notify_new")
    text = psql(url, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP "
                     "(ORDER BY ms), max(ms) FROM (SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms "
                     "FROM llm_jobs WHERE attempt = 1) s")
    p50, p99, worst = (float(x) for x in text.split("|"))
    return {"samples": samples, "p50_ms": p50, "p99_ms": p99, "max_ms": worst, "poll_interval_s": 1.0,
            "path": "notify" if notify else "poll"}


def claim_buffers(url):
    """Shared buffers hit+read by the claim's picking SELECT (rolled back): flat = queue healthy."""
    plan = psql(url, "BEGIN; EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM llm_jobs WHERE status = 'queued' "
                     "AND run_at <= now() AND attempt < max_attempts ORDER BY priority DESC, run_at, id LIMIT 64 "
                     "FOR UPDATE SKIP LOCKED; ROLLBACK;")
    top = json.loads(plan[plan.index("["):plan.rindex("]") + 1])[0]["Plan"]
    return top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)


def sustained(url, postmaster, minutes, jobs, concurrency, batch):
    """One worker for `minutes`; every 10 s the backlog is topped up to `jobs` ready jobs."""
    backlog(url, jobs)
    before = claim_buffers(url)
    pg0 = postgres_cpu(postmaster)
    worker = start_worker(url, "sustained", concurrency, batch)
    began = time.monotonic()
    per_minute, buffers, done_before = [], [], 0
    topped = 0
    for minute in range(minutes):
        for _ in range(6):
            time.sleep(max(0.0, began + minute * 60 + (_ + 1) * 10 - time.monotonic()))
            ready = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status = 'queued'"))
            if ready < jobs:
                psql(url, file=os.path.join(HERE, "jobs.sql"), variables={"njobs": jobs - ready})
                topped += jobs - ready
        done = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'"))
        per_minute.append(done - done_before)
        done_before = done
        buffers.append(claim_buffers(url))
        print(f"    minute {minute + 1}: {per_minute[-1]} jobs ({per_minute[-1] / 60:.0f}/s), claim buffers {buffers[-1]}",
              flush=True)
    gateway_cpu = proc_cpu(worker.pid)
    stop(worker)
    pg1 = postgres_cpu(postmaster)
    done = int(psql(url, "SELECT count(*) FROM model_usage"))
    return {"minutes": minutes, "backlog": jobs, "topped_up": topped, "jobs": done,
            "jobs_per_minute": per_minute, "jobs_per_s_by_minute": [round(n / 60) for n in per_minute],
            "claim_buffers": [before] + buffers, "gateway_cpu_s_per_1k": gateway_cpu * 1000 / max(done, 1),
            "postgres_cpu_s_per_1k": (pg1 - pg0) * 1000 / max(done, 1)}


BENCH_KEY_ID = "00000000-0000-4000-8000-0000000be0c1"
TENANT = "00000000-0000-4000-8000-000000000001"


def governed(url, postmaster, jobs, concurrency, batch, stub):
    """Ungoverned and governed runs alternated (U G U G): the machine's drift hits both alike."""
    psql(url, f"""
        INSERT INTO api_keys (id, tenant_id, role, name, prefix, secret_hash)
        VALUES ('{BENCH_KEY_ID}', '{TENANT}', 'inference', 'bench', 'sb_bench0',
                decode(md5('bench-key-a') || md5('bench-key-b'), 'hex'))
        ON CONFLICT (id) DO NOTHING""")
    budgets = f"""
        INSERT INTO budgets (tenant_id, scope, scope_id, period, limit_usd, on_exhausted) VALUES
          ('{TENANT}', 'tenant', '{TENANT}', 'month', 1000000000, 'fail'),
          ('{TENANT}', 'api_key', '{BENCH_KEY_ID}', 'month', 1000000000, 'fail'),
          ('{TENANT}', 'agent', '{AGENT}', 'day', 1000000000, 'downgrade')"""
    runs = {"ungoverned": [], "governed": []}
    for _ in range(2):
        psql(url, "DELETE FROM budgets")
        runs["ungoverned"].append(run_jobs(url, postmaster, 1, jobs, concurrency, batch, stub=stub))
        psql(url, budgets)
        runs["governed"].append(run_jobs(url, postmaster, 1, jobs, concurrency, batch, stub=stub,
                                         after_backlog=f"UPDATE llm_jobs SET api_key_id = '{BENCH_KEY_ID}'"))
        reserved = psql(url, "SELECT count(*) FROM llm_job_calls WHERE reserved_usd IS NOT NULL "
                             "AND cardinality(hold_budget_ids) = 3 AND charged_usd IS NOT NULL")
        runs["governed"][-1]["reserved_and_settled_calls"] = int(reserved)
    psql(url, "DELETE FROM budgets")

    def mean(kind, key):
        return sum(r[key] for r in runs[kind]) / len(runs[kind])
    summary = {kind: {key: mean(kind, key) for key in ("jobs_per_s", "gateway_cpu_s_per_1k", "postgres_cpu_s_per_1k")}
               for kind in runs}
    summary["ratio"] = summary["governed"]["jobs_per_s"] / summary["ungoverned"]["jobs_per_s"]
    summary["added_cpu_ms_per_job"] = (
        (summary["governed"]["gateway_cpu_s_per_1k"] + summary["governed"]["postgres_cpu_s_per_1k"])
        - (summary["ungoverned"]["gateway_cpu_s_per_1k"] + summary["ungoverned"]["postgres_cpu_s_per_1k"]))
    summary["runs"] = runs
    return summary


LIMITS = f"""
    INSERT INTO rate_limits (tenant_id, scope, api_key_id, requests_per_minute, tokens_per_minute, max_concurrent_jobs)
    VALUES ('{TENANT}', 'api_key', '{BENCH_KEY_ID}', 1000000000, 1000000000000, 1000000000);
    INSERT INTO rate_limits (tenant_id, scope, agent_id, requests_per_minute, tokens_per_minute)
    VALUES ('{TENANT}', 'agent', '{AGENT}', 1000000000, 1000000000000);
    INSERT INTO provider_quotas (provider, model_id, rpm, tpm) VALUES ('openai', 'bench-model', 1000000000, 1000000000000)"""


def limits(url, postmaster, jobs, concurrency, batch, stub):
    """Like `governed`, with rate limits and a provider quota added to the budgets."""
    psql(url, f"""
        INSERT INTO api_keys (id, tenant_id, role, name, prefix, secret_hash)
        VALUES ('{BENCH_KEY_ID}', '{TENANT}', 'inference', 'bench', 'sb_bench0',
                decode(md5('bench-key-a') || md5('bench-key-b'), 'hex'))
        ON CONFLICT (id) DO NOTHING""")
    budgets = f"""
        INSERT INTO budgets (tenant_id, scope, scope_id, period, limit_usd, on_exhausted) VALUES
          ('{TENANT}', 'tenant', '{TENANT}', 'month', 1000000000, 'fail'),
          ('{TENANT}', 'api_key', '{BENCH_KEY_ID}', 'month', 1000000000, 'fail'),
          ('{TENANT}', 'agent', '{AGENT}', 'day', 1000000000, 'downgrade')"""
    clear = "DELETE FROM budgets; DELETE FROM rate_limits; DELETE FROM provider_quotas"
    runs = {"ungoverned": [], "governed": []}
    for _ in range(2):
        psql(url, clear)
        runs["ungoverned"].append(run_jobs(url, postmaster, 1, jobs, concurrency, batch, stub=stub))
        psql(url, budgets + ";" + LIMITS)
        runs["governed"].append(run_jobs(url, postmaster, 1, jobs, concurrency, batch, stub=stub,
                                         after_backlog=f"UPDATE llm_jobs SET api_key_id = '{BENCH_KEY_ID}'"))
        counted = psql(url, "SELECT requests FROM provider_quota_counters").split()
        runs["governed"][-1]["quota_slots_in_last_window"] = int(counted[0]) if counted else 0
        runs["governed"][-1]["limited_calls"] = int(psql(url, "SELECT count(*) FROM llm_job_calls WHERE model_id = 'bench-model'"))
    psql(url, clear)

    def mean(kind, key):
        return sum(r[key] for r in runs[kind]) / len(runs[kind])
    summary = {kind: {key: mean(kind, key) for key in ("jobs_per_s", "gateway_cpu_s_per_1k", "postgres_cpu_s_per_1k")}
               for kind in runs}
    summary["ratio"] = summary["governed"]["jobs_per_s"] / summary["ungoverned"]["jobs_per_s"]
    summary["added_cpu_ms_per_job"] = (
        (summary["governed"]["gateway_cpu_s_per_1k"] + summary["governed"]["postgres_cpu_s_per_1k"])
        - (summary["ungoverned"]["gateway_cpu_s_per_1k"] + summary["ungoverned"]["postgres_cpu_s_per_1k"]))
    summary["runs"] = runs
    return summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="throughput,pgbench,profile,concurrency,latency,governed,limits")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--profile-jobs", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    parser.add_argument("--pgbench-clients", type=int, default=4,
                        help="2 workers run 4 sessions at once (a claimer and a completer each)")
    parser.add_argument("--pgbench-jobs", type=int, default=600_000)
    parser.add_argument("--concurrency-jobs", type=int, default=2_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--governed-jobs", type=int, default=50_000)
    parser.add_argument("--sustained-minutes", type=int, default=10)
    parser.add_argument("--sustained-jobs", type=int, default=1_000_000)
    options = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    postmaster = int(os.environ["BENCH_POSTMASTER_PID"])
    only = options.only.split(",")
    port = free_port()
    stub = start_stub(port, 0)
    rows, data = [], {}
    try:
        setup(url, port)
        if "throughput" in only:
            for workers in (1, 2):
                r = data[f"throughput_{workers}"] = run_jobs(url, postmaster, workers, options.jobs,
                                                             options.concurrency, options.batch, stub=stub)
                rows.append(row(f"throughput, {workers} worker{'s' if workers > 1 else ''}, stub 0 ms",
                                f"{r['jobs_per_s']:,.0f} jobs/s; CPU s per 1,000 jobs: gateway "
                                f"{r['gateway_cpu_s_per_1k']:.3f}, Postgres {r['postgres_cpu_s_per_1k']:.3f}",
                                f"{r['jobs']:,} jobs, {r['succeeded']:,} succeeded, {r['usage_rows']:,} usage rows; "
                                f"provider-stub {r['stub_cpu_s_per_1k']:.3f} CPU s per 1,000; "
                                f"--concurrency {r['concurrency']} --batch-size {r['batch']}"))
        if "pgbench" in only:
            r = data["pgbench"] = pgbench(url, postmaster, options.pgbench_jobs, options.pgbench_seconds, options.batch,
                                              options.pgbench_clients)
            rows.append(row("ceiling: pgbench, the gateway's SQL, no provider",
                            f"{r['jobs_per_s']:,.0f} jobs/s; Postgres CPU s per 1,000 jobs {r['postgres_cpu_s_per_1k']:.3f}",
                            f"{r['clients']} clients, batch {r['batch']}, {r['seconds']} s, pgbench_gateway.sql"))
            for workers in (1, 2):
                t = data.get(f"throughput_{workers}")
                if t:
                    ratio = {"throughput": t["jobs_per_s"] / r["jobs_per_s"],
                             "postgres_cpu": t["postgres_cpu_s_per_1k"] / r["postgres_cpu_s_per_1k"]}
                    data[f"ratio_{workers}"] = ratio
                    rows.append(row(f"gateway ÷ ceiling, {workers} worker{'s' if workers > 1 else ''}",
                                    f"jobs/s {ratio['throughput']:.2f}×; Postgres CPU per job {ratio['postgres_cpu']:.2f}×"))
        if "profile" in only:
            profile = os.path.join(LOGS, "bench-gateway.perf")
            r = data["profile_run"] = run_jobs(url, postmaster, 1, options.profile_jobs, options.concurrency,
                                               options.batch, profile=profile)
            data["profile"] = perf_summary(profile)
            libraries = "; ".join(" ".join(line.split()[:2]) for line in data["profile"]["by_library"][:7])
            rows.append(row("profile of the gateway (perf -F 499 -g, 1 worker)", libraries,
                            f"a separate run of {r['jobs']:,} jobs ({r['jobs_per_s']:,.0f} jobs/s under perf); "
                            "top symbols in data.profile"))
            for line in data["profile"]["by_library"]:
                print("    " + line)
        if "concurrency" in only:
            stop(stub)
            stub = start_stub(port, 1000)
            r = data["concurrency"] = run_jobs(url, postmaster, 1, options.concurrency_jobs, 2000, options.batch)
            rows.append(row(f"stub 1 s, {r['jobs']:,} jobs, 1 worker --concurrency 2000",
                            f"wall {r['wall_seconds']:.2f} s (first start .. last finish {r['seconds']:.2f} s) = "
                            f"{(r['jobs'] / 2000) / r['wall_seconds']:.0%} of ideal (target >= 90 %); "
                            f"peak RSS {r['peak_rss_mb']:.0f} MB",
                            f"wall = worker start .. all done, incl. process start; {r['succeeded']:,} succeeded; "
                            f"gateway CPU {r['gateway_cpu_s_per_1k']:.3f} s per 1,000"))
            stop(stub)
            stub = start_stub(port, 0)
        if "latency" in only:
            for notify in (True, False):
                r = data[f"latency_{'notify' if notify else 'poll'}"] = latency(url, options.latency_samples, notify)
                rows.append(row(f"enqueue→start, idle worker, {'NOTIFY' if notify else 'poll'} path",
                                f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms",
                                f"{r['samples']} single inserts 20 ms apart; max {r['max_ms']:.1f} ms"
                                + ("" if notify else "; trigger llm_jobs_notify_new disabled, --poll-interval 1")))
        if "governed" in only:
            r = data["governed"] = governed(url, postmaster, options.governed_jobs, options.concurrency, options.batch, stub)
            g, u = r["governed"], r["ungoverned"]
            rows.append(row("governed ÷ ungoverned, 1 worker, stub 0 ms (3 budgets per call)",
                            f"jobs/s {r['ratio']:.3f}× (target ≥ 0.85×): {g['jobs_per_s']:,.0f} vs {u['jobs_per_s']:,.0f}; "
                            f"CPU per job +{r['added_cpu_ms_per_job']:.4f} ms (target ≤ +0.03 ms)",
                            f"CPU s per 1,000 jobs governed / ungoverned: gateway {g['gateway_cpu_s_per_1k']:.3f} / "
                            f"{u['gateway_cpu_s_per_1k']:.3f}, Postgres {g['postgres_cpu_s_per_1k']:.3f} / "
                            f"{u['postgres_cpu_s_per_1k']:.3f}; {options.governed_jobs:,} jobs per run, runs alternated U G U G; "
                            f"every governed call reserved and settled against 3 budgets: "
                            f"{r['runs']['governed'][-1]['reserved_and_settled_calls']:,}"))
        if "limits" in only:
            r = data["limits"] = limits(url, postmaster, options.governed_jobs, options.concurrency, options.batch, stub)
            g, u = r["governed"], r["ungoverned"]
            rows.append(row("governed ÷ ungoverned, 1 worker, stub 0 ms (3 budgets, 2 rate limits, a provider quota)",
                            f"jobs/s {r['ratio']:.3f}× (target ≥ 0.85×): {g['jobs_per_s']:,.0f} vs {u['jobs_per_s']:,.0f}; "
                            f"CPU per job +{r['added_cpu_ms_per_job']:.4f} ms (target ≤ +0.03 ms)",
                            f"CPU s per 1,000 jobs governed / ungoverned: gateway {g['gateway_cpu_s_per_1k']:.3f} / "
                            f"{u['gateway_cpu_s_per_1k']:.3f}, Postgres {g['postgres_cpu_s_per_1k']:.3f} / "
                            f"{u['postgres_cpu_s_per_1k']:.3f}; {options.governed_jobs:,} jobs per run, runs alternated U G U G; "
                            f"every call took a quota slot ({r['runs']['governed'][-1]['limited_calls']:,} calls)"))
        if "sustained" in only:
            r = data["sustained"] = sustained(url, postmaster, options.sustained_minutes, options.sustained_jobs,
                                              options.concurrency, options.batch)
            rows.append(row(f"sustained, 1 worker, {r['minutes']} min, backlog ≥ {r['backlog']:,}",
                            "jobs/s per minute " + ", ".join(f"{n:,}" for n in r["jobs_per_s_by_minute"]),
                            f"{r['jobs']:,} jobs; claim buffers {r['claim_buffers']}; CPU s per 1,000: gateway "
                            f"{r['gateway_cpu_s_per_1k']:.3f}, Postgres {r['postgres_cpu_s_per_1k']:.3f} (incl. top-up inserts)"))
    finally:
        stop_all()
        write_part(rows, data)


if __name__ == "__main__":
    main()
