#!/usr/bin/env python3
"""llm-gateway end-to-end benchmark (make bench-gateway). Not a test: it prints figures.

Needs DATABASE_URL (a throwaway cluster: scripts/bench-gateway.sh starts one) and release builds of
llm-gateway and provider-stub in .build/release. Every process is started here and stopped by PID.

Scenarios
  1. throughput: a backlog of --jobs ready jobs, provider-stub at 0 ms, 1 then 2 workers; jobs/s from
     the database's own timestamps (first started_at .. last finished_at); CPU ms per job of the
     gateway(s), Postgres (all backends + exited children) and the stub, from /proc.
  2. pgbench: the same claim/complete/usage/counter SQL without any provider call
     (pgbench_claim_complete.sql), 2 clients, for comparison.
  3. latency: one idle worker; jobs inserted one by one 20 ms apart; enqueue->start = started_at -
     created_at (both server clocks), p50/p99.
  4. in flight: the stub at 1 s, one worker with --concurrency 2000; throughput vs the ideal
     2,000 jobs/s and the gateway's peak RSS (VmHWM).
"""
import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(ROOT, ".build", "release")
PGBIN = sorted(d for d in (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")))[-1]
TICK = os.sysconf("SC_CLK_TCK")
STARTED = []


def psql(url, sql=None, file=None, variables=None, quiet=True):
    args = [os.path.join(PGBIN, "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", url]
    if quiet:
        args.append("-q")
    for key, value in (variables or {}).items():
        args += ["-v", f"{key}={value}"]
    if file:
        args += ["-f", file]
    if sql:
        args += ["-c", sql]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def proc_cpu(pid, children=False):
    """utime+stime (and optionally cutime+cstime) in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def postgres_cpu(postmaster):
    """Every live postgres process plus the postmaster's reaped children."""
    total = proc_cpu(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == postmaster:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        if comm == "postgres" and ppid == postmaster:
            total += proc_cpu(int(entry))
    return total


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start(args, log, env=None):
    handle = open(log, "w")
    process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env=env)
    STARTED.append(process)
    return process


def stop(process, sig=signal.SIGTERM, timeout=60):
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_stub(port, latency_ms):
    stub = start([os.path.join(BIN, "provider-stub"), "--port", str(port), "--latency-ms", str(latency_ms)],
                 f"/tmp/gwbench-stub-{port}.log")
    for _ in range(200):
        try:
            import urllib.request
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return stub
        except Exception:
            time.sleep(0.05)
    raise SystemExit("provider-stub did not start")


def start_worker(url, name, concurrency, batch, extra=()):
    env = dict(os.environ, DATABASE_URL=url, BENCH_KEY="sk-bench", LOG_LEVEL="warning")
    return start([os.path.join(BIN, "llm-gateway"), "run", "--worker-id", name, "--concurrency", str(concurrency),
                  "--batch-size", str(batch), "--metrics-port", "0", "--poll-interval", "0.5", *extra],
                 f"/tmp/gwbench-{name}.log", env)


def reset(url):
    psql(url, "TRUNCATE llm_jobs, model_usage, agent_usage_daily, execution_usage, llm_gateway_waiters; "
              "DELETE FROM llm_model_cooldowns")
    psql(url, "VACUUM ANALYZE llm_jobs")


def wait_done(url, expected, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status IN ('succeeded','failed','cancelled')"))
        if done >= expected:
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out: {done}/{expected} jobs done")


def window(url):
    row = psql(url, "SELECT count(*), extract(epoch FROM max(finished_at) - min(started_at)), "
                    "count(*) FILTER (WHERE status = 'succeeded') FROM llm_jobs")
    count, seconds, succeeded = row.split("|")
    return int(count), float(seconds), int(succeeded)


def throughput(url, postmaster, stub, workers, jobs, concurrency, batch):
    reset(url)
    psql(url, file=os.path.join(HERE, "jobs.sql"), variables={"njobs": jobs})
    psql(url, "VACUUM ANALYZE llm_jobs")
    pg0, stub0 = postgres_cpu(postmaster), proc_cpu(stub.pid)
    procs = [start_worker(url, f"bench-w{i}", concurrency, batch) for i in range(workers)]
    wait_done(url, jobs)
    gateway_cpu = sum(proc_cpu(p.pid) for p in procs)
    pg1, stub1 = postgres_cpu(postmaster), proc_cpu(stub.pid)
    rss = max(peak_rss_mb(p.pid) for p in procs)
    for p in procs:
        stop(p)
    count, seconds, succeeded = window(url)
    usage = int(psql(url, "SELECT count(*) FROM model_usage"))
    return {
        "workers": workers, "jobs": count, "succeeded": succeeded, "usage_rows": usage, "seconds": seconds,
        "jobs_per_s": count / seconds, "gateway_ms_per_job": gateway_cpu * 1000 / count,
        "postgres_ms_per_job": (pg1 - pg0) * 1000 / count, "stub_ms_per_job": (stub1 - stub0) * 1000 / count,
        "peak_rss_mb": rss,
    }


def pgbench(url, postmaster, jobs, seconds):
    reset(url)
    psql(url, file=os.path.join(HERE, "jobs.sql"), variables={"njobs": jobs})
    psql(url, "VACUUM ANALYZE llm_jobs")
    pg0 = postgres_cpu(postmaster)
    out = subprocess.run([os.path.join(PGBIN, "pgbench"), "-n", "-M", "prepared", "-c", "2", "-j", "2",
                          "-T", str(seconds), "-f", os.path.join(HERE, "pgbench_claim_complete.sql"), url],
                         check=True, capture_output=True, text=True).stdout
    pg1 = postgres_cpu(postmaster)
    done = int(psql(url, "SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'"))
    return {"jobs_per_s": done / seconds, "postgres_ms_per_job": (pg1 - pg0) * 1000 / max(done, 1), "jobs": done,
            "pgbench": [l for l in out.splitlines() if l.startswith("tps")]}


def latency(url, samples):
    reset(url)
    worker = start_worker(url, "bench-idle", 256, 64)
    time.sleep(2)  # idle and registered in llm_gateway_waiters
    statements = []
    for i in range(samples):
        statements.append("INSERT INTO llm_jobs (agent_id, request) VALUES ('00000000-0000-0000-0000-00000000be0c', "
                          f"'{{\"messages\":[{{\"role\":\"user\",\"content\":\"ping {i}\"}}]}}');")
        statements.append("SELECT pg_sleep(0.02);")
    script = "/tmp/gwbench-latency.sql"
    with open(script, "w") as f:
        f.write("\n".join(statements))
    psql(url, file=script)
    wait_done(url, samples)
    stop(worker)
    row = psql(url, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP "
                    "(ORDER BY ms), max(ms) FROM (SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms "
                    "FROM llm_jobs WHERE attempt = 1) s")
    p50, p99, worst = (float(x) for x in row.split("|"))
    return {"samples": samples, "p50_ms": p50, "p99_ms": p99, "max_ms": worst}


def claim_buffers(url):
    """Shared buffers hit+read by the claim's picking SELECT (rolled back): flat = queue healthy."""
    plan = psql(url, "BEGIN; EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM llm_jobs WHERE status = 'queued' "
                     "AND run_at <= now() AND attempt < max_attempts ORDER BY priority DESC, run_at, id LIMIT 64 "
                     "FOR UPDATE SKIP LOCKED; ROLLBACK;")
    import json
    top = json.loads(plan[plan.index("["):plan.rindex("]") + 1])[0]["Plan"]
    return top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)


def sustained(url, postmaster, minutes, jobs):
    """One worker for `minutes` on a large backlog: completions per minute and claim buffers."""
    reset(url)
    psql(url, file=os.path.join(HERE, "jobs.sql"), variables={"njobs": jobs})
    psql(url, "VACUUM ANALYZE llm_jobs")
    before = claim_buffers(url)
    pg0 = postgres_cpu(postmaster)
    worker = start_worker(url, "bench-sustained", 256, 64)
    samples = []
    for minute in range(minutes):
        time.sleep(60)
        samples.append(claim_buffers(url))
    gateway_cpu = proc_cpu(worker.pid)
    stop(worker)
    pg1 = postgres_cpu(postmaster)
    per_minute = psql(url, "SELECT string_agg(n::text, ',' ORDER BY m) FROM (SELECT date_trunc('minute', created_at) m, "
                           "count(*) n FROM model_usage GROUP BY 1) s")
    done = int(psql(url, "SELECT count(*) FROM model_usage"))
    return {"per_minute": per_minute, "claim_buffers": [before] + samples, "jobs": done,
            "gateway_ms_per_job": gateway_cpu * 1000 / max(done, 1), "postgres_ms_per_job": (pg1 - pg0) * 1000 / max(done, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--inflight-jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--only", default="throughput,pgbench,latency,inflight",
                        help="comma-separated; also: sustained (not in the default set)")
    parser.add_argument("--sustained-minutes", type=int, default=5)
    parser.add_argument("--sustained-jobs", type=int, default=1_000_000)
    options = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    postmaster = int(os.environ["BENCH_POSTMASTER_PID"])
    only = options.only.split(",")
    port = 18000 + os.getpid() % 1000
    stub = start_stub(port, 0)
    try:
        psql(url, file=os.path.join(HERE, "setup.sql"), variables={"stub_url": f"http://127.0.0.1:{port}"})
        results = {}
        if "throughput" in only:
            for workers in (1, 2):
                results[f"throughput_{workers}"] = r = throughput(url, postmaster, stub, workers, options.jobs,
                                                                  options.concurrency, options.batch)
                print(f"{workers} worker(s): {r['jobs']} jobs ({r['succeeded']} succeeded, {r['usage_rows']} usage rows) "
                      f"in {r['seconds']:.2f} s = {r['jobs_per_s']:.0f} jobs/s; CPU ms/job: gateway "
                      f"{r['gateway_ms_per_job']:.3f}, postgres {r['postgres_ms_per_job']:.3f}, stub "
                      f"{r['stub_ms_per_job']:.3f}; gateway peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        if "pgbench" in only:
            r = pgbench(url, postmaster, max(options.jobs, 400_000), 20)
            print(f"pgbench (same SQL, no provider call, 2 clients, 20 s): {r['jobs_per_s']:.0f} jobs/s; "
                  f"postgres {r['postgres_ms_per_job']:.3f} CPU ms/job; {r['pgbench']}", flush=True)
        if "latency" in only:
            r = latency(url, 300)
            print(f"enqueue->start with an idle worker ({r['samples']} single inserts 20 ms apart): "
                  f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms", flush=True)
        if "sustained" in only:
            r = sustained(url, postmaster, options.sustained_minutes, options.sustained_jobs)
            print(f"sustained, 1 worker, {options.sustained_minutes} min on a {options.sustained_jobs} backlog: "
                  f"{r['jobs']} jobs; completions per wall-clock minute {r['per_minute']}; claim buffers "
                  f"(start, then after each minute) {r['claim_buffers']}; CPU ms/job gateway {r['gateway_ms_per_job']:.3f}, "
                  f"postgres {r['postgres_ms_per_job']:.3f}", flush=True)
        if "inflight" in only:
            stop(stub)
            stub = start_stub(port, 1000)
            r = throughput(url, postmaster, stub, 1, options.inflight_jobs, 2000, 256)
            ideal = 2000.0
            print(f"stub at 1 s, --concurrency 2000: {r['jobs']} jobs in {r['seconds']:.2f} s = {r['jobs_per_s']:.0f} "
                  f"jobs/s ({100 * r['jobs_per_s'] / ideal:.1f} % of the ideal 2,000/s); gateway CPU "
                  f"{r['gateway_ms_per_job']:.3f} ms/job; peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    finally:
        for process in STARTED:
            stop(process, timeout=30)


if __name__ == "__main__":
    main()
