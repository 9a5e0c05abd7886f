"""Fault tests, provider side (docs/development.md "Fault tests"): a provider that never answers, malformed
provider responses, and provider-stub failing 30 % of calls with mixed 429 / 500 / timeouts.
Real llm-gateway and provider-stub processes; the misbehaving providers are loopback servers in
this test process (fault_servers.py)."""

from __future__ import annotations

import uuid

import pytest

from fault_servers import HangServer, MalformedProvider
from faults import assert_counters_agree, enqueue, stub_stats, unfinished, wait_for
from stack import Stack


def add_provider(stack: Stack, name: str, base_url: str, request_timeout: float, style: str = "openai") -> None:
    stack.sql("""
        INSERT INTO llm_providers (name, api_style, base_url, api_key_env, connect_timeout_seconds, request_timeout_seconds)
        VALUES (%s, %s, %s, NULL, 2, %s)
        """, (name, style, base_url, request_timeout))


def usage(stack: Stack, job: int) -> list[tuple]:
    return stack.sql("""
        SELECT model_id, outcome, error_class, http_status FROM model_usage WHERE job_id = %s ORDER BY started_at, id
        """, (job,))


def test_a_provider_that_never_answers_times_out_and_the_job_falls_back(stack):
    """Bullet: "a provider that accepts the connection and never answers → timeouts fire and the
    job falls back". A raw TCP listener takes the request and stays silent."""
    hang = HangServer()
    try:
        suffix = uuid.uuid4().hex[:6]
        provider = "silent-" + suffix
        add_provider(stack, provider, hang.url, request_timeout=1)
        stack.add_model("silent-model-" + suffix, provider=provider)
        stack.add_model("stub-after-silence-" + suffix, provider="openai")
        agent = stack.create_agent("silent-" + suffix, "silent-model-" + suffix, ["stub-after-silence-" + suffix])
        reply = stack.api("POST", "/api/jobs", {"agent_id": agent, "messages": [{"role": "user", "content": "anyone?"}]})
        assert reply.status_code == 201, reply.text
        job = reply.json()["id"]
        reply = stack.api("GET", f"/api/jobs/{job}?wait=50", timeout=55)
        body = reply.json()
        assert body["status"] == "succeeded", (body, stack.logs())
        assert body["result"]["model"] == "stub-after-silence-" + suffix
        assert body["result"]["fallback_depth"] == 1

        calls = usage(stack, job)
        silent = [c for c in calls if c[0] == "silent-model-" + suffix]
        # The request was sent and never answered: probably billed, so not sent to the same model
        # again (issue 22, F4): one call, then the next model.
        assert len(silent) == 1 and all(c[1:] == ("error", "timeout", None) for c in silent), calls
        assert calls[-1] == ("stub-after-silence-" + suffix, "success", None, 200), calls
        assert body["result"]["attempts"] == len(calls)
        assert hang.connections >= len(silent) and hang.bytes_received > 0
        assert stack.services["llm-gateway"].process.poll() is None, "the gateway survived"
    finally:
        hang.stop()


# What each broken reply is classified as; every one of them moves the job to its fallback.
MALFORMED_CLASSES = {
    "bad-invalid-json": "malformed_response",
    "bad-missing-choices": "malformed_response",
    "bad-empty-object": "malformed_response",
    "bad-json-array": "malformed_response",
    "bad-choices-wrong-type": "malformed_response",
    "bad-message-wrong-type": "malformed_response",
    "bad-content-wrong-type": "malformed_response",
    "bad-truncated-json": "malformed_response",
    "bad-truncated-transfer": "connection",
    "bad-empty-body": "malformed_response",
    "bad-html-page": "malformed_response",
    "bad-html-502": "server_error",
    "bad-error-not-json": "server_error",
    "bad-binary": "malformed_response",
}


# Replies that are odd but still a completion: the job succeeds on the odd provider.
LENIENT = ["lenient-text-plain", "bad-usage-wrong-type"]
# The same server as an Anthropic Messages provider: broken messages are malformed_response too.
ANTHROPIC_CLASSES = {
    "anth-text-wrong-type": "malformed_response",
    "anth-blocks-not-objects": "malformed_response",
    "anth-no-content": "malformed_response",
    "bad-invalid-json": "malformed_response",
    "bad-html-502": "server_error",
}


def test_malformed_provider_responses_are_classified_and_the_job_falls_back(stack):
    """Bullet: "malformed provider responses (invalid JSON, missing fields, wrong types, truncated
    body, wrong content-type) → classified, no crash, job outcome per policy". Every class here
    is transient: the model is retried, then the job succeeds on its fallback with the history.
    Both wire styles: the server is an OpenAI-style and an Anthropic-style provider at once."""
    server = MalformedProvider()
    try:
        suffix = uuid.uuid4().hex[:6]
        fallback = "stub-after-broken-" + suffix
        stack.add_model(fallback, provider="openai")
        jobs = {}
        for style, kinds in (("openai", list(MALFORMED_CLASSES) + LENIENT), ("anthropic", list(ANTHROPIC_CLASSES) + ["anth-ok"])):
            provider = f"broken-{style}-{suffix}"
            add_provider(stack, provider, server.url, request_timeout=10, style=style)
            for kind in kinds:
                model = f"{kind}-{style}-{suffix}"
                stack.add_model(model, provider=provider)
                agent = stack.create_agent(model, model, [fallback])
                reply = stack.api("POST", "/api/jobs", {"agent_id": agent, "messages": [{"role": "user", "content": kind}]})
                assert reply.status_code == 201, reply.text
                jobs[(style, kind)] = (model, reply.json()["id"])
        for (style, kind), (model, job) in jobs.items():
            body = stack.api("GET", f"/api/jobs/{job}?wait=50", timeout=55).json()
            assert body["status"] == "succeeded", (model, body, stack.logs())
            calls = usage(stack, job)
            if kind in LENIENT or kind == "anth-ok":
                # A well-formed completion under text/plain is read (the body decides, not the
                # header); usage of the wrong type is unknown usage (never zero), as when absent.
                assert body["result"]["model"] == model and body["result"]["content"] == "fine", body
                assert calls == [(model, "success", None, 200)], calls
                if kind == "bad-usage-wrong-type":
                    assert body["result"]["usage"] is None and body["result"]["cost"] is None, body["result"]
                continue
            assert body["result"]["model"] == fallback, (model, body)
            broken = [c for c in calls if c[0] == model]
            expected = (MALFORMED_CLASSES if style == "openai" else ANTHROPIC_CLASSES)[kind]
            assert broken and all(c[1] == "error" and c[2] == expected for c in broken), (model, calls)
            assert calls[-1][:2] == (fallback, "success"), (model, calls)
            assert body["result"]["attempts"] == len(calls), (model, body["result"], calls)
            # The registry's view of the job lists the same calls.
            assert [(a["model"], a["error_class"]) for a in body["attempts"]] == [(c[0], c[2]) for c in calls], body
            assert server.requests.get(model) == len(broken), (model, server.requests)
        assert stack.services["llm-gateway"].process.poll() is None, "the gateway survived"
    finally:
        server.stop()


@pytest.fixture()
def chaos_stack():
    """A stack of its own: the provider rows' timeouts are shortened for every model."""
    with Stack.start(stub_args=["--hang-seconds", "4", "--seed", "14"],
                     gateway_args=["--retry-base-ms", "20", "--requeue-base-ms", "200", "--cooldown-seconds", "1",
                                   "--concurrency", "128"]) as running:
        yield running


def test_thirty_percent_mixed_failures_every_job_ends_with_its_history(chaos_stack):
    """Bullet: "provider-stub returning 30 % mixed 429 / 500 / timeouts → every job succeeds or
    fails with its history; usage rows equal attempts". `stub-chaos-30` fails 30 % of calls, a
    third each as 429, 500 and a hang (the 1-s provider timeout ends it)."""
    stack = chaos_stack
    stack.sql("UPDATE llm_providers SET request_timeout_seconds = 1 WHERE name IN ('openai', 'anthropic')")
    stack.add_model("stub-chaos-30", provider="openai")
    stack.add_model("stub-fallback-chaos-30", provider="anthropic")
    agent = stack.create_agent("chaotic", "stub-chaos-30", ["stub-fallback-chaos-30"])
    ids = enqueue(stack, agent, 400, "chaos")
    wait_for("every job terminal", lambda: unfinished(stack, ids) == 0, seconds=240, stack=stack)

    statuses = dict(stack.sql("SELECT status, count(*) FROM llm_jobs WHERE id = ANY(%s) GROUP BY 1", (ids,)))
    assert set(statuses) <= {"succeeded", "failed"}, statuses
    assert statuses.get("succeeded", 0) > 0

    # Each job's own record of its calls equals its usage rows, call for call.
    rows = stack.sql("""
        SELECT j.id, j.status, j.result, j.error,
               (SELECT count(*) FROM model_usage u WHERE u.job_id = j.id) AS usage_rows,
               (SELECT count(*) FROM model_usage u WHERE u.job_id = j.id AND u.outcome = 'success') AS successes
          FROM llm_jobs j WHERE j.id = ANY(%s)
        """, (ids,))
    recorded = 0
    for job, status, result, error, usage_rows, successes in rows:
        if status == "succeeded":
            attempts = result["attempts"]
            assert successes == 1, (job, result)
        else:
            assert error["code"] in ("max_attempts_exceeded", "rate_limited", "server_error", "timeout"), error
            calls = [entry for entry in error["attempts"] if entry.get("model")]
            assert all(entry["outcome"] == "error" for entry in calls), error
            attempts = len(calls)
            assert successes == 0, (job, error)
        assert attempts == usage_rows, (job, status, attempts, usage_rows, result, error)
        recorded += attempts
    total_rows = stack.sql("SELECT count(*) FROM model_usage")[0][0]
    assert recorded == total_rows

    # The mix really happened, each class as the gateway classifies it.
    classes = dict(stack.sql("SELECT coalesce(error_class, 'success'), count(*) FROM model_usage GROUP BY 1"))
    assert set(classes) == {"success", "rate_limited", "server_error", "timeout"}, classes
    # Every call the stub received is a usage row (a timed-out call too).
    stats = stub_stats(stack)
    received = sum(stats["models"].get(m, {}).get(o, 0) for m in ("stub-chaos-30", "stub-fallback-chaos-30")
                   for o in stats["models"].get(m, {}))
    assert received == total_rows, (stats, total_rows)
    assert_counters_agree(stack)
    assert stack.services["llm-gateway"].process.poll() is None
