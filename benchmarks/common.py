"""Helpers shared by the benchmark parts (benchmarks/run.py runs them; see its docstring).

Processes are started here and stopped by PID only. CPU figures come from /proc (utime + stime).
"""
import json
import os
import signal
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release"))
PGBIN = sorted((os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")),
               key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])[-1]
TICK = os.sysconf("SC_CLK_TCK")
LOGS = os.environ.get("BENCH_LOGS", "/tmp")
STARTED = []


def psql(url, sql=None, file=None, variables=None):
    args = [os.path.join(PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", url]
    for key, value in (variables or {}).items():
        args += ["-v", f"{key}={value}"]
    if file:
        args += ["-f", file]
    if sql:
        args += ["-c", sql]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def proc_cpu(pid, children=False):
    """utime + stime (and optionally the reaped children's) of a process, in seconds; 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def postgres_cpu(postmaster):
    """CPU seconds of the whole cluster: every live child of the postmaster plus its reaped children."""
    total = proc_cpu(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == postmaster:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        if ppid == postmaster:
            total += proc_cpu(int(entry))
    return total


def peak_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def start(args, log_name, env=None):
    handle = open(os.path.join(LOGS, log_name), "w")
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


def stop_all():
    for process in STARTED:
        stop(process, timeout=30)


def wait_http(url, what, tries=300):
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start ({url})")


def start_stub(port, latency_ms):
    stub = start([os.path.join(BIN, "provider-stub"), "--port", str(port), "--latency-ms", str(latency_ms)],
                 f"bench-stub-{port}.log")
    wait_http(f"http://127.0.0.1:{port}/healthz", "provider-stub")
    return stub


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_part(rows, data):
    """The part contract: {"rows": [{"scenario", "result", "note"}], "data": {...}} to $BENCH_OUT."""
    out = os.environ.get("BENCH_OUT")
    document = {"rows": rows, "data": data}
    if out:
        with open(out, "w") as f:
            json.dump(document, f, indent=2)
    else:
        print(json.dumps(document, indent=2))


def row(scenario, result, note=""):
    print(f"  {scenario}: {result}" + (f"  ({note})" if note else ""), flush=True)
    return {"scenario": scenario, "result": result, "note": note}
