#!/usr/bin/env python3
"""`make bench`: runs the benchmark parts one after the other, prints one table, writes JSON.

scripts/bench.sh prepares what every part needs (release builds, a throwaway cluster with fsync off,
migrations) and exports DATABASE_URL, BENCH_POSTMASTER_PID, BENCH_BIN. A part is a command that may
use those, writes {"rows": [{"scenario", "result", "note"}], "data": {...}} to the file named by
BENCH_OUT (benchmarks/common.py: write_part) and exits 0. Adding a part is one line in PARTS.

  benchmarks/run.py [--parts gateway,registry,peer] [--out FILE] [-- args for a single part]
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import loadavg  # noqa: E402

PY = sys.executable
# name → command, in running order. `make bench` runs them all except those in ON_REQUEST; any can
# be picked with --parts. Adding a part is one line here.
PARTS = {
    "gateway": [PY, "benchmarks/gateway/bench.py"],
    "registry": [PY, "benchmarks/registry/bench.py"],
    "peer": [PY, "benchmarks/peer/bench.py"],
    # The /v1 facade part starts its own stack with tests/integration/stack.py (the test virtualenv).
    "facade": [os.path.join(ROOT, ".build", "py-venv", "bin", "python"), "benchmarks/facade/bench.py"],
    # Live streaming (issue 24): added TTFT and inter-chunk latency over a direct stream, concurrency.
    "streaming": [os.path.join(ROOT, ".build", "py-venv", "bin", "python"), "benchmarks/streaming/bench.py"],
    "sustained": [PY, "benchmarks/gateway/bench.py", "--only", "sustained"],
}
ON_REQUEST = {"sustained"}  # 10 minutes: make bench-sustained
DEFAULT = [name for name in PARTS if name not in ON_REQUEST]


def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()


def table(rows):
    width = max(len(r["scenario"]) for r in rows)
    lines = [f"{'scenario'.ljust(width)} | result", "-" * width + "-+-" + "-" * 60]
    for r in rows:
        lines.append(f"{r['scenario'].ljust(width)} | {r['result']}")
        if r.get("note"):
            lines.append(f"{''.ljust(width)} |   {r['note']}")
    return "\n".join(lines)


def markdown(result):
    """The table as docs/performance.md "Measured" shows it."""
    lines = [f"`{result['command']}`, {result['started_utc'][:16].replace('T', ' ')} UTC, commit {result['commit']}, "
             f"{result['cpus']} CPUs, load average {result['loadavg_start'][0]:.1f} at the start and "
             f"{result['loadavg_end'][0]:.1f} at the end", "", "| scenario | result | details |", "|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['scenario']} | {r['result']} | {r.get('note', '')} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default=",".join(DEFAULT))
    parser.add_argument("--out", default=os.path.join(ROOT, ".build", "bench", "results.json"))
    parser.add_argument("rest", nargs="*", help="arguments for the part (only with a single part)")
    options = parser.parse_args()
    parts = [p for p in options.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part(s) {unknown}; known: {sorted(PARTS)}")
    if options.rest and len(parts) != 1:
        raise SystemExit("extra arguments need exactly one part")
    os.makedirs(os.path.dirname(options.out), exist_ok=True)
    check = subprocess.run([PY, "benchmarks/gateway/pgbench_script.py", "--check"], cwd=ROOT)
    if check.returncode != 0:
        raise SystemExit(1)

    started = datetime.datetime.now(datetime.timezone.utc)
    result = {
        "command": "make bench" + ("" if parts == DEFAULT else f" (parts {','.join(parts)})"),
        "started_utc": started.isoformat(timespec="seconds"), "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")), "cpus": os.cpu_count(),
        "loadavg_start": loadavg(), "parts": {}, "rows": [],
    }
    print(f"make bench {started:%Y-%m-%d %H:%M} UTC, commit {result['commit']}, {os.cpu_count()} CPUs, "
          f"load average {result['loadavg_start']}", flush=True)
    failed = []
    for name in parts:
        out = os.path.join(os.path.dirname(options.out), f"part-{name}.json")
        if os.path.exists(out):
            os.remove(out)
        print(f"\n== {name}", flush=True)
        began, load = time.monotonic(), loadavg()
        try:
            code = subprocess.run(PARTS[name] + options.rest, cwd=ROOT, env=dict(os.environ, BENCH_OUT=out)).returncode
        except OSError as error:  # e.g. the facade's virtualenv could not be installed: keep the other parts' results
            print(f"{name}: {error}", flush=True)
            code = 127
        part = {"exit": code, "seconds": round(time.monotonic() - began, 1), "loadavg_start": load,
                "loadavg_end": loadavg()}
        if os.path.exists(out):
            with open(out) as f:
                document = json.load(f)
            part["data"] = document.get("data")
            result["rows"] += [dict(r, part=name) for r in document.get("rows", [])]
        if code != 0:
            failed.append(name)
            result["rows"].append({"part": name, "scenario": f"{name}: FAILED", "result": f"exit {code}", "note": ""})
        result["parts"][name] = part

    result["loadavg_end"] = loadavg()
    result["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with open(options.out, "w") as f:
        json.dump(result, f, indent=2)
    copy = os.path.join(os.path.dirname(options.out), f"results-{started:%Y%m%dT%H%M%SZ}.json")
    shutil.copyfile(options.out, copy)
    with open(os.path.splitext(options.out)[0] + ".md", "w") as f:
        f.write(markdown(result))
    print(f"\n{result['command']}: {result['started_utc']} .. {result['finished_utc']}, load average "
          f"{result['loadavg_start']} → {result['loadavg_end']} ({os.cpu_count()} CPUs)\n")
    if result["rows"]:
        print(table(result["rows"]))
    print(f"\nJSON: {options.out}\n      {copy}\nMarkdown: {os.path.splitext(options.out)[0]}.md")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
