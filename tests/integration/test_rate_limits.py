"""Rate limits and provider quotas (issue 23, docs/api.md#rate-limits, docs/gateway.md#provider-quotas)
with real processes: two model-registry processes sharing limits, the official SDKs meeting a 429
without retrying, tokens of finished calls filling a window, and three llm-gateway workers keeping a
provider model's quota with provider-stub enforcing the same quota (429 beyond it)."""

from __future__ import annotations

import threading

import anthropic
import openai
import pytest
import requests

from faults import stub_stats, unfinished, wait_for
from stack import Stack, free_port
from v1_support import unique


def window_start(stack: Stack, seconds: int):
    return stack.sql("SELECT rate_window_start(now(), %s)", (seconds,))[0][0]


def in_one_window(stack: Stack, seconds: int, body) -> None:
    """Runs `body` until one run falls inside one window (by the database's clock): a window that
    ends mid-run would reset the counts; the counters are cleared before each run."""
    for _ in range(3):
        stack.sql("DELETE FROM rate_limit_counters")
        before = window_start(stack, seconds)
        body()
        if window_start(stack, seconds) == before:
            return
    pytest.fail("three runs in a row crossed a window boundary")


def second_registry(stack: Stack) -> str:
    port = free_port()
    stack._spawn("model-registry-2", ["serve", "--port", str(port), "--host", "127.0.0.1"],
                 {"SWITCHBOARD_ADMIN_TOKEN": stack.token}, executable="model-registry")
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return requests.get(url + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    wait_for("the second registry", ready, seconds=60, stack=stack)
    return url


def post_job(url: str, token: str, agent: str) -> requests.Response:
    return requests.post(url + "/api/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                         json={"agent_id": agent, "messages": [{"role": "user", "content": "hi"}]})


def test_two_registry_processes_share_one_limit(stack):
    other = second_registry(stack)
    try:
        model = unique("stub-rl-shared")
        stack.add_model(model)
        agent = stack.create_agent(unique("shared"), model)
        # The second registry has looked once and cached "no limits for this agent".
        assert post_job(other, stack.token, agent).status_code == 201
        reply = stack.api("POST", "/api/rate-limits", {"scope": "agent", "scope_id": agent,
                                                       "requests_per_minute": 6, "window_seconds": 3600})
        assert reply.status_code == 201, reply.text
        limit = reply.json()["id"]

        def counted() -> bool:
            post_job(other, stack.token, agent)
            return stack.sql("SELECT coalesce(sum(requests), 0) FROM rate_limit_counters")[0][0] > 0
        # The NOTIFY reached the second process: its next job is counted.
        wait_for("the second registry applies the new limit", counted, seconds=20, stack=stack)

        def burst() -> None:
            replies: list[int] = []
            lock = threading.Lock()

            def one(url: str) -> None:
                status = post_job(url, stack.token, agent).status_code
                with lock:
                    replies.append(status)
            threads = [threading.Thread(target=one, args=(stack.registry_url if i % 2 else other,)) for i in range(24)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert replies.count(201) == 6, replies
            assert replies.count(429) == 18, replies
            refused = post_job(stack.registry_url, stack.token, agent)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(refused.headers["Retry-After"]) <= 3600
            assert {"field": "rate_limit_id", "message": limit} in refused.json()["error"]["details"]
        in_one_window(stack, 3600, burst)
    finally:
        stack.services.pop("model-registry-2").stop()


def refusals_counted(stack: Stack, route: str) -> int:
    """429 answers of `route` in the registry's /metrics."""
    text = requests.get(stack.registry_url + "/metrics", timeout=10).text
    total = 0
    for line in text.splitlines():
        if line.startswith("http_server_requests_total{") and f'route="{route}"' in line and 'status="429"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


@pytest.fixture
def limited_agent(stack):
    model = unique("stub-rl-sdk")
    stack.add_model(model)
    name = unique("rl-sdk")
    agent = stack.create_agent(name, model)
    reply = stack.api("POST", "/api/rate-limits", {"scope": "agent", "scope_id": agent, "requests_per_minute": 1,
                                                   "window_seconds": 3600})
    assert reply.status_code == 201, reply.text
    # The one request of the window.
    assert post_job(stack.registry_url, stack.token, agent).status_code == 201
    return {"name": name, "id": agent}


def test_openai_sdk_gets_rate_limit_error_and_does_not_retry(stack, limited_agent):
    before = refusals_counted(stack, "/v1/chat/completions")
    # The SDK's defaults: two automatic retries, which x-should-retry: false turns off.
    sdk = openai.OpenAI(base_url=stack.registry_url + "/v1", api_key=stack.token, timeout=60)
    with pytest.raises(openai.RateLimitError) as raised:
        sdk.chat.completions.create(model=f"agent:{limited_agent['name']}", messages=[{"role": "user", "content": "hi"}])
    error = raised.value
    assert error.status_code == 429
    assert error.response.headers["x-should-retry"] == "false"
    assert int(error.response.headers["retry-after"]) >= 1
    assert error.body["type"] == "rate_limit_error" and error.body["code"] == "rate_limited"
    assert "requests_per_minute 1" in error.body["message"]
    assert refusals_counted(stack, "/v1/chat/completions") - before == 1  # one request, no retry


def test_anthropic_sdk_gets_rate_limit_error_and_does_not_retry(stack, limited_agent):
    before = refusals_counted(stack, "/v1/messages")
    sdk = anthropic.Anthropic(base_url=stack.registry_url, api_key=stack.token, timeout=60)
    with pytest.raises(anthropic.RateLimitError) as raised:
        sdk.messages.create(model=f"agent:{limited_agent['name']}", max_tokens=20,
                            messages=[{"role": "user", "content": "hi"}])
    error = raised.value
    assert error.status_code == 429
    assert error.response.headers["x-should-retry"] == "false"
    assert int(error.response.headers["retry-after"]) >= 1
    assert error.body["type"] == "error" and error.body["error"]["type"] == "rate_limit_error"
    assert refusals_counted(stack, "/v1/messages") - before == 1


def test_tokens_of_calls_the_gateway_finished_fill_the_window(stack):
    model = unique("stub-rl-tokens")
    stack.add_model(model)
    agent = stack.create_agent(unique("tokens"), model)
    reply = stack.api("POST", "/api/rate-limits", {"scope": "agent", "scope_id": agent, "tokens_per_minute": 5,
                                                   "window_seconds": 3600})
    limit = reply.json()["id"]

    def run() -> None:
        first = post_job(stack.registry_url, stack.token, agent)
        assert first.status_code == 201, first.text
        wait_for("the job", lambda: unfinished(stack, [first.json()["id"]]) == 0, seconds=60, stack=stack)
        [(tokens,)] = stack.sql("SELECT sum(input_tokens + output_tokens) FROM model_usage WHERE job_id = %s",
                                (first.json()["id"],))
        assert tokens >= 5
        assert stack.api("GET", f"/api/rate-limits/{limit}").json()["window"]["tokens"] == tokens
        refused = post_job(stack.registry_url, stack.token, agent)
        assert refused.status_code == 429, refused.text
        assert any(d["field"] == "tokens_per_minute" for d in refused.json()["error"]["details"])
    in_one_window(stack, 3600, run)


def test_three_workers_keep_to_a_provider_quota():
    """stub-quota-5-window-2s: provider-stub answers 429 beyond 5 requests per 2-s window (aligned on
    the clock, as the gateway's windows are). The same quota set on the model: 45 jobs, 3 workers."""
    # Small claims (8 calls at a time per worker), so that all three workers take part.
    with Stack.start(gateway_args=["--concurrency", "8"]) as stack:
        model = "stub-quota-5-window-2s"
        stack.add_model(model)
        agent = stack.create_agent(unique("quota"), model)
        reply = stack.api("PUT", "/api/providers/openai/quotas", {"model_id": model, "rpm": 5, "window_seconds": 2})
        assert reply.status_code == 200, reply.text
        for worker in ("quota-2", "quota-3"):
            stack.spawn_gateway(worker, ["--concurrency", "8"])
        ids = [row[0] for row in stack.sql("""
            INSERT INTO llm_jobs (agent_id, request, max_attempts)
            SELECT %s::uuid, jsonb_build_object('messages', jsonb_build_array(
                       jsonb_build_object('role', 'user', 'content', 'job ' || n))), 1
              FROM generate_series(1, 45) n
            RETURNING id
            """, (agent,))]
        wait_for("every job", lambda: unfinished(stack, ids) == 0, seconds=180, stack=stack)
        assert stack.sql("SELECT status, count(*) FROM llm_jobs GROUP BY 1") == [("succeeded", 45)]
        busiest = stack.sql("""
            SELECT max(n) FROM (SELECT count(*) AS n FROM llm_job_calls WHERE model_id = %s
                                 GROUP BY rate_window_start(sent_at, 2)) w
            """, (model,))[0][0]
        assert busiest <= 5
        assert stack.sql("SELECT count(*) FROM llm_job_calls")[0][0] == 45
        assert stack.sql("SELECT count(DISTINCT worker_id) FROM llm_job_calls")[0][0] >= 2
        outcomes = stub_stats(stack)["models"][model]
        assert outcomes.get("error_429", 0) == 0, outcomes
        assert outcomes.get("ok", 0) == 45, outcomes
        quota = stack.api("GET", "/api/providers/openai/quotas").json()["quotas"]
        assert [q["model_id"] for q in quota] == [model]
