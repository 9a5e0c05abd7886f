#!/usr/bin/env python3
"""The demo half of `make run` (scripts/run.sh), over the registry's own HTTP API; stdlib only.

  run-demo.py wait-ready [--seconds N] [--pids "PID…"] URL...
                                                  waits until every URL answers 200 (fails when a PID exits)
  run-demo.py seed --api URL [--token TOKEN]      demo agents + one demo workflow, waits for it

`seed` (demo mode only: the providers point at provider-stub) makes sure the demo catalog model and
the two demo agents exist with their configuration (found by name, so repeated runs reuse them),
then submits one execution of four jobs and waits until it finishes:

  "Demo planner"  gpt-4.1-mini (openai), fallback claude-haiku-4-5 (anthropic)
  "Demo writer"   stub-error-quota (anthropic; provider-stub answers it as Anthropic does when the
                  credit balance is too low), fallback claude-haiku-4-5: every writer job falls back
"""

from __future__ import annotations

import argparse
import os
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEMO_AGENT_TYPE = "demo"
QUOTA_MODEL = "stub-error-quota"
AGENTS = [
    {"name": "Demo planner", "description": "Plans the release notes (make run demo).",
     "skills": ["planning"],
     "model_config": {"model_id": "gpt-4.1-mini", "temperature": 0.3, "max_tokens": 400,
                      "fallback_model_ids": ["claude-haiku-4-5"]}},
    {"name": "Demo writer", "description": "Writes the release notes (make run demo); its primary model is always out of quota, so it shows a fallback.",
     "skills": ["writing"],
     "model_config": {"model_id": QUOTA_MODEL, "temperature": 0.7, "max_tokens": 400,
                      "fallback_model_ids": ["claude-haiku-4-5"]}},
]


class API:
    def __init__(self, base: str, token: str | None) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body=None, ok=(200, 201)):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=70) as reply:
                status, text = reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        if status not in ok:
            raise SystemExit(f"{method} {path} answered {status}: {text[:500]}")
        return status, (json.loads(text) if text else None)


def exited(pid: int) -> bool:
    """True when the process is gone or a zombie (our parent has not reaped it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def wait_ready(urls: list[str], seconds: float, pids: list[int]) -> int:
    deadline = time.monotonic() + seconds
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if any(exited(pid) for pid in pids):
            print("a service exited while starting", file=sys.stderr)
            return 1
        for url in list(pending):
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        pending.remove(url)
            except (urllib.error.URLError, OSError):
                pass
        if pending:
            time.sleep(0.2)
    if pending:
        print(f"not ready after {seconds:.0f}s: {', '.join(pending)}", file=sys.stderr)
        return 1
    return 0


def ensure_quota_model(api: API) -> None:
    status, _ = api.call("GET", f"/api/models/{QUOTA_MODEL}", ok=(200, 404))
    if status == 404:
        api.call("POST", "/api/models", {
            "model_id": QUOTA_MODEL, "provider": "anthropic",
            "display_name": "Demo: always out of quota (provider-stub)",
            "context_window": 128000, "max_output_tokens": 4096,
            "input_cost_per_1k": "0.001", "output_cost_per_1k": "0.005",
            "description": "make run's demo model: provider-stub answers it with insufficient_quota, so the agent falls back.",
        })


def ensure_agent(api: API, spec: dict) -> str:
    _, page = api.call("GET", "/api/agents?" + urllib.parse.urlencode({"agent_type": DEMO_AGENT_TYPE, "limit": 1000}))
    existing = [agent for agent in page["agents"] if agent["name"] == spec["name"]]
    if existing:
        agent_id = existing[0]["id"]
    else:
        _, agent = api.call("POST", "/api/agents", {
            "name": spec["name"], "agent_type": DEMO_AGENT_TYPE,
            "description": spec["description"], "skills": spec["skills"]})
        agent_id = agent["id"]
    if not existing or existing[0].get("status") != "active":
        api.call("PATCH", f"/api/agents/{agent_id}", {"status": "active"})
    api.call("PUT", f"/api/agents/{agent_id}/model-config", spec["model_config"])
    return agent_id


def seed(api: API, wait_seconds: float) -> int:
    ensure_quota_model(api)
    planner, writer = (ensure_agent(api, spec) for spec in AGENTS)
    topic = "Switchboard 1.0: a catalog of LLM models, agents with fallbacks, a PostgreSQL job queue."

    def step(name: str, agent: str, text: str) -> dict:
        return {"step": name, "agent_id": agent, "messages": [{"role": "user", "content": text}]}

    _, execution = api.call("POST", "/api/executions", {
        "workflow_name": "demo: release notes",
        "metadata": {"source": "make run"},
        "steps": [
            step("outline", planner, f"Outline release notes for: {topic}"),
            step("draft", writer, f"Draft release notes for: {topic}"),
            step("headline", writer, "Write a one-line headline for the release."),
            step("review", planner, "Review the draft for accuracy."),
        ],
    })
    execution_id = execution["id"]
    print(f"demo: agents 'Demo planner' ({planner}) and 'Demo writer' ({writer});")
    print(f"      workflow 'demo: release notes' submitted as execution {execution_id} (4 jobs)")

    deadline = time.monotonic() + wait_seconds
    while True:
        _, execution = api.call("GET", f"/api/executions/{execution_id}")
        if execution["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    primary = {planner: AGENTS[0]["model_config"]["model_id"], writer: AGENTS[1]["model_config"]["model_id"]}
    for job in execution.get("steps", []):
        model = job.get("model")
        note = " — fallback" if model and model != primary.get(job.get("agent_id")) else ""
        print(f"      {job['step']:<9} {job['status']:<10} answered by {model or '-'} ({job.get('provider') or '-'}){note}")
    tokens = (execution.get("tokens") or {}).get("total_tokens")
    print(f"      execution {execution['status']}: {execution.get('requests')} provider calls, "
          f"{tokens} tokens, cost ${execution.get('total_cost')}")
    print(f"      GET /api/executions/{execution_id} · SQL: SELECT step, status, result->>'model' FROM llm_jobs "
          f"WHERE execution_id = '{execution_id}';")
    return 0 if execution["status"] == "succeeded" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ready = commands.add_parser("wait-ready")
    ready.add_argument("--seconds", type=float, default=60)
    ready.add_argument("--pids", default="", help="space-separated process ids that must keep running")
    ready.add_argument("urls", nargs="+")
    demo = commands.add_parser("seed")
    demo.add_argument("--api", required=True)
    demo.add_argument("--token", default=os.environ.get("SWITCHBOARD_ADMIN_TOKEN") or os.environ.get("SWITCHBOARD_API_TOKEN"),
                      help="bearer token (default: $SWITCHBOARD_ADMIN_TOKEN)")
    demo.add_argument("--wait", type=float, default=60, help="seconds to wait for the workflow")
    arguments = parser.parse_args()
    if arguments.command == "wait-ready":
        return wait_ready(arguments.urls, arguments.seconds, [int(p) for p in arguments.pids.split()])
    return seed(API(arguments.api, arguments.token), arguments.wait)


if __name__ == "__main__":
    sys.exit(main())
