"""Budgets under concurrency (issue 23, docs/budgets.md): the tests that catch the peers' bugs.

- 64 SQL sessions reserving, settling and orphaning against one budget: spent + reserved never
  exceeds the limit, and spent ends equal to what the calls cost.
- A budget that fits 100.5 calls, 4 workers × 64 concurrency, 5,000 jobs: exactly 100 paid; again
  with a worker killed -9 mid-call and with a worker's database link cut for 5 s: never overspent.
- A daily budget whose day ends during the run: each period charged exactly its own calls.
- 200 concurrent /v1 calls from a key created a moment earlier (LiteLLM #40095): spend ≤ limit.
- The alert webhook down, then back: each alert delivered once, signed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import random
import signal
import socket
import threading
import time
import urllib.parse
import uuid
from decimal import Decimal

import openai
import psycopg
import pytest

from fault_servers import TcpProxy
from faults import stub_stats, unfinished, wait_for
from stack import Stack
from test_faults_postgres import through

TENANT = "00000000-0000-4000-8000-000000000001"


def enqueue_same(stack: Stack, agent: str, count: int, max_tokens: int = 6) -> list[int]:
    """`count` identical jobs (identical calls cost exactly the same), with max_tokens."""
    rows = stack.sql("""
        INSERT INTO llm_jobs (agent_id, request)
        SELECT %s::uuid, jsonb_build_object('messages', jsonb_build_array(
                   jsonb_build_object('role', 'user', 'content', 'hello')), 'max_tokens', %s)
          FROM generate_series(1, %s)
        RETURNING id
        """, (agent, max_tokens, count))
    return [row[0] for row in rows]


def one_call_cost(stack: Stack, agent: str) -> Decimal:
    """Runs one job before any budget exists and returns its exact cost."""
    [probe] = enqueue_same(stack, agent, 1)
    wait_for("the probe job", lambda: unfinished(stack, [probe]) == 0, seconds=60, stack=stack)
    [(cost,)] = stack.sql("SELECT cost FROM model_usage WHERE job_id = %s", (probe,))
    assert cost and cost > 0
    stack.sql("DELETE FROM model_usage WHERE job_id = %s", (probe,))
    stack.sql("DELETE FROM llm_jobs WHERE id = %s", (probe,))
    return cost


def add_budget(stack: Stack, scope: str, scope_id: str | None, limit: Decimal, **extra) -> str:
    reply = stack.api("POST", "/api/budgets", {"scope": scope, "scope_id": scope_id, "limit_usd": str(limit),
                                              "period": "month", **extra})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def period(stack: Stack, budget: str) -> tuple[Decimal, Decimal]:
    [(spent, reserved)] = stack.sql("SELECT spent_usd, reserved_usd FROM budget_status WHERE budget_id = %s", (budget,))
    return spent, reserved


def unknown_charges(stack: Stack) -> Decimal:
    """What calls with an unknown outcome were charged (their reservation): spent = usage cost + this."""
    return stack.sql("SELECT coalesce(sum(charged_usd), 0) FROM llm_job_calls WHERE outcome = 'unknown'")[0][0]


# -- 1. SQL property test ------------------------------------------------------------------------

def test_64_sessions_never_overspend_and_spent_equals_cost():
    """64 concurrent sessions × random reserve / settle / orphan operations (10,000 in all) on one
    budget: spent + reserved ≤ limit at every sampled instant; at the end nothing is reserved and
    spent = Σ model_usage.cost + Σ the reservations charged for unknown outcomes."""
    with Stack.start() as stack:
        stack.services.pop("llm-gateway").stop()
        stack.add_model("gpt-prop")
        agent = stack.create_agent("prop-" + uuid.uuid4().hex[:6], "gpt-prop")
        limit = Decimal("25")
        budget = add_budget(stack, "agent", agent, limit)
        sessions, operations = 64, 10_000
        jobs = enqueue_same(stack, agent, sessions)
        stack.sql("UPDATE llm_jobs SET status = 'running', attempt = 1, lease_owner = 'prop', "
                  "lease_expires_at = now() + interval '1 hour', started_at = now() WHERE id = ANY(%s)", (jobs,))
        violations: list[tuple] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        def sample() -> None:
            with psycopg.connect(stack.database_url, autocommit=True) as connection:
                while not stop.is_set():
                    for spent, reserved, lim in connection.execute(
                            "SELECT spent_usd, reserved_usd, %s::numeric FROM budget_periods WHERE budget_id = %s",
                            (limit, budget)).fetchall():
                        if spent + reserved > lim:
                            violations.append((spent, reserved))

        def session(index: int, count: int) -> None:
            rng = random.Random(index)
            job = jobs[index]
            open_calls: list[tuple[int, Decimal]] = []
            try:
                with psycopg.connect(stack.database_url, autocommit=True) as connection:
                    for _ in range(count):
                        choice = rng.random()
                        if choice < 0.5 or not open_calls:
                            amount = Decimal(rng.randint(1, 500)) / 1000
                            calls = json.dumps([{"k": 0, "job_id": job, "attempt": 1, "provider": "openai",
                                                 "model_id": "gpt-prop", "amount": str(amount)}])
                            [(seq, refusal)] = connection.execute(
                                "SELECT call_seq, refusal FROM budget_open_calls('prop', gen_random_uuid(), %s::jsonb)",
                                (calls,)).fetchall()
                            if seq is not None:
                                open_calls.append((seq, amount))
                            else:
                                assert refusal in ("exhausted", "busy"), refusal
                        elif choice < 0.9:
                            seq, amount = open_calls.pop(rng.randrange(len(open_calls)))
                            cost = (amount * rng.randint(0, 100) / 100).quantize(Decimal("0.000001"))
                            with connection.transaction():
                                connection.execute(
                                    "UPDATE llm_job_calls SET settled_at = now(), outcome = 'success', cost_usd = %s "
                                    "WHERE job_id = %s AND attempt = 1 AND call_seq = %s", (cost, job, seq))
                                connection.execute("""
                                    INSERT INTO model_usage (job_id, agent_id, provider, model_id, attempt, call_seq, outcome,
                                                             input_tokens, output_tokens, cost, latency_ms, started_at, finished_at)
                                    VALUES (%s, %s, 'openai', 'gpt-prop', 1, %s, 'success', 1, 1, %s, 1, now(), now())
                                    """, (job, agent, seq, cost))
                                connection.execute("SELECT budget_settle_calls(ARRAY[%s]::bigint[], ARRAY[1])", (job,))
                        else:
                            # An orphan: the rescuer's 'unknown', charged its whole reservation.
                            seq, _ = open_calls.pop(rng.randrange(len(open_calls)))
                            with connection.transaction():
                                connection.execute(
                                    "UPDATE llm_job_calls SET settled_at = now(), outcome = 'unknown' "
                                    "WHERE job_id = %s AND attempt = 1 AND call_seq = %s", (job, seq))
                                connection.execute("SELECT budget_settle_calls(ARRAY[%s]::bigint[], ARRAY[1])", (job,))
                    # Whatever is still open settles at no cost.
                    for seq, _ in open_calls:
                        with connection.transaction():
                            connection.execute(
                                "UPDATE llm_job_calls SET settled_at = now(), outcome = 'error', cost_usd = 0 "
                                "WHERE job_id = %s AND attempt = 1 AND call_seq = %s", (job, seq))
                            connection.execute("SELECT budget_settle_calls(ARRAY[%s]::bigint[], ARRAY[1])", (job,))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=session, args=(i, operations // sessions)) for i in range(sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        sampler.join()
        assert errors == [], errors[:3]
        assert violations == [], violations[:5]
        spent, reserved = period(stack, budget)
        assert reserved == 0
        assert spent <= limit
        [(usage,)] = stack.sql("SELECT coalesce(sum(cost), 0) FROM model_usage")
        assert spent == usage + unknown_charges(stack)
        # The budget was really contended: it refused calls, and it is (nearly) used up.
        assert spent > limit * Decimal("0.5")


# -- 2. End to end through the gateway -------------------------------------------------------------

def governed_stack(workers: int, gateway_args: list[str], database_url=None):
    """A stack with `workers` gateways of 64 concurrency (the stack's own gateway replaced)."""
    stack = Stack.start()
    stack.services.pop("llm-gateway").stop()
    for index in range(workers):
        stack.spawn_gateway(f"w{index}", ["--concurrency", "64"] + gateway_args,
                            database_url=database_url(index) if database_url else None)
    return stack


def run_exact(stack: Stack, model: str, jobs: int, during=None) -> tuple[list[int], str, Decimal, Decimal]:
    stack.add_model(model, input_per_1k="0.0001", output_per_1k="0.01")
    agent = stack.create_agent("exact-" + uuid.uuid4().hex[:6], model)
    cost = one_call_cost(stack, agent)
    limit = cost * Decimal("100.5")
    budget = add_budget(stack, "agent", agent, limit)
    ids = enqueue_same(stack, agent, jobs)
    if during:
        during(stack, ids)
    wait_for("every job finished", lambda: unfinished(stack, ids) == 0, seconds=240, stack=stack)
    return ids, budget, cost, limit


def outcomes(stack: Stack, ids: list[int]) -> dict:
    return dict(stack.sql("""
        SELECT CASE WHEN status = 'failed' THEN 'failed:' || (error->>'code') ELSE status END, count(*)
          FROM llm_jobs WHERE id = ANY(%s) GROUP BY 1
        """, (ids,)))


def test_a_budget_for_100_5_calls_pays_exactly_100_of_5000_across_four_workers():
    stack = governed_stack(4, [])
    try:
        ids, budget, cost, limit = run_exact(stack, "gpt-exact", 5000)
        assert outcomes(stack, ids) == {"succeeded": 100, "failed:budget_exceeded": 4900}
        spent, reserved = period(stack, budget)
        assert reserved == 0
        assert spent == cost * 100 <= limit
        [(usage,)] = stack.sql("SELECT sum(cost) FROM model_usage")
        assert usage == spent
        # Refused calls were never sent.
        assert stub_stats(stack)["models"]["gpt-exact"] == {"ok": 101}
        refused = stack.sql("SELECT DISTINCT error->>'budget_id' FROM llm_jobs WHERE status = 'failed' AND id = ANY(%s)", (ids,))
        assert refused == [(budget,)]
    finally:
        stack.stop()


def test_a_worker_killed_mid_call_never_makes_the_budget_overspend():
    """kill -9 while calls are in flight: their reservations stay held, the rescuer charges them in
    full (outcome unknown), and what the provider billed never exceeds the limit."""
    stack = governed_stack(4, ["--lease-seconds", "5", "--allow-short-lease"])
    try:
        def kill_one(stack: Stack, ids: list[int]) -> None:
            wait_for("calls in flight", lambda: stub_stats(stack)["in_flight"] >= 8, seconds=60, stack=stack)
            victim = stack.services["llm-gateway-w0"]
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(timeout=10)

        ids, budget, cost, limit = run_exact(stack, "stub-killed-latency-300ms", 2000, during=kill_one)
        spent, reserved = period(stack, budget)
        assert reserved == 0
        assert spent <= limit
        billed = stub_stats(stack)["models"]["stub-killed-latency-300ms"]["ok"] - 1  # the probe
        assert billed * cost <= limit, (billed, cost, limit)
        [(usage,)] = stack.sql("SELECT coalesce(sum(cost), 0) FROM model_usage")
        assert spent == usage + unknown_charges(stack)
        # Whatever the killed worker had in flight was settled (as unknown, charged its reservation,
        # or by a late answer): no call is left holding a reservation. (It may have had none in
        # flight at the instant of the kill, so unknown charges may be 0.)
        assert stack.sql("SELECT count(*) FROM llm_job_calls WHERE settled_at IS NULL")[0][0] == 0
        result = outcomes(stack, ids)
        assert set(result) <= {"succeeded", "failed:budget_exceeded"}, result
        assert result.get("succeeded", 0) <= 100
    finally:
        stack.stop()


def test_a_five_second_cut_to_postgres_keeps_the_budget_exact():
    """One worker's database link is cut for 5 s while its calls run: their outcomes are written
    when it reconnects (the leases outlast the cut), so the budget still pays exactly 100."""
    stack = Stack.start()
    proxy = None
    try:
        stack.services.pop("llm-gateway").stop()
        parts = urllib.parse.urlsplit(stack.database_url)
        proxy = TcpProxy("127.0.0.1", parts.port)
        stack.spawn_gateway("cut", ["--concurrency", "64"], database_url=through(stack.database_url, proxy.port))
        for index in range(3):
            stack.spawn_gateway(f"w{index}", ["--concurrency", "64"])

        def cut(stack: Stack, ids: list[int]) -> None:
            wait_for("calls in flight", lambda: stub_stats(stack)["in_flight"] >= 8, seconds=60, stack=stack)
            proxy.cut()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.1)
            proxy.resume()

        ids, budget, cost, limit = run_exact(stack, "stub-cut-latency-300ms", 2000, during=cut)
        assert outcomes(stack, ids) == {"succeeded": 100, "failed:budget_exceeded": 1900}
        spent, reserved = period(stack, budget)
        assert reserved == 0
        assert spent == cost * 100 <= limit
    finally:
        if proxy:
            proxy.stop()
        stack.stop()


# -- 3. /v1 from a brand-new key ------------------------------------------------------------------

def zone_with_midnight_in(stack: Stack, seconds: int) -> tuple[str, int]:
    """A POSIX time zone ('UTC+HH:MM:SS', which Postgres accepts) whose midnight falls `seconds`
    from the database's now, and that instant (epoch seconds). The rollover then happens at a moment
    the test chose, whatever the date."""
    [(now,)] = stack.sql("SELECT ceil(extract(epoch FROM now()))::bigint")
    boundary = now + seconds
    offset = boundary % 86400  # local = UTC - offset: local midnight at `boundary`
    sign = "+"
    if offset > 43200:  # the same midnight from the other side (local = UTC + the rest of the day)
        offset, sign = 86400 - offset, "-"
    zone = f"UTC{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}:{offset % 60:02d}"
    [(end,)] = stack.sql("SELECT extract(epoch FROM period_end)::bigint FROM budget_period_bounds('day', %s, now())", (zone,))
    assert end == boundary, (zone, end, boundary)
    return zone, boundary


def test_a_period_rollover_during_the_run_opens_a_fresh_period_and_neither_overspends():
    """A daily `defer` budget for 10.5 calls whose day ends during the run (a time zone chosen so
    that its midnight comes a few seconds after the jobs): 30 jobs → 10 paid in the first day and
    20 deferred to its end; at the rollover the deferred jobs run against a fresh period, 10 more
    are paid and 10 deferred to the next day. Each period is charged exactly its own calls."""
    stack = governed_stack(2, [])
    try:
        model = "gpt-rollover"
        stack.add_model(model, input_per_1k="0.0001", output_per_1k="0.01")
        for lead in (15, 30, 60):
            agent = stack.create_agent("rollover-" + uuid.uuid4().hex[:6], model)
            cost = one_call_cost(stack, agent)
            zone, boundary = zone_with_midnight_in(stack, lead)
            [(budget,)] = stack.sql("""
                INSERT INTO budgets (tenant_id, scope, scope_id, period, time_zone, limit_usd, on_exhausted)
                SELECT tenant_id, 'agent', id, 'day', %s, %s, 'defer' FROM agents WHERE id = %s
                RETURNING id""", (zone, cost * Decimal("10.5"), agent))
            budget = str(budget)
            ids = enqueue_same(stack, agent, 30)

            def state(until_epoch: int) -> tuple[int, int]:
                [(paid, deferred)] = stack.sql("""
                    SELECT count(*) FILTER (WHERE status = 'succeeded'),
                           count(*) FILTER (WHERE status = 'queued' AND run_at >= to_timestamp(%s) - interval '1 second')
                      FROM llm_jobs WHERE id = ANY(%s)""", (until_epoch, ids))
                return paid, deferred

            wait_for("10 paid, 20 deferred to the day's end",
                     lambda: state(boundary) == (10, 20) or stack.sql("SELECT now() >= to_timestamp(%s)", (boundary,))[0][0],
                     seconds=lead + 30, stack=stack)
            # The first day is over only if the run reached its state before the rollover (by
            # the database's clock); otherwise try again with a longer lead.
            if state(boundary) == (10, 20) and not stack.sql("SELECT now() >= to_timestamp(%s)", (boundary,))[0][0]:
                break
        else:
            pytest.fail("the first period never completed before its rollover (machine too slow?)")

        wait_for("the second day's 10 paid, 10 deferred to its end",
                 lambda: state(boundary + 86400) == (20, 10), seconds=120, stack=stack)
        periods = stack.sql("""
            SELECT extract(epoch FROM period_start)::bigint, spent_usd, reserved_usd, requests
              FROM budget_periods WHERE budget_id = %s ORDER BY period_start""", (budget,))
        assert [(start, spent, reserved) for start, spent, reserved, _ in periods] == [
            (boundary - 86400, cost * 10, 0), (boundary, cost * 10, 0)], periods
        # Each paid call was held and charged in the period it was sent in.
        wrong = stack.sql("""
            SELECT c.job_id, c.sent_at, c.hold_period_starts FROM llm_job_calls c
             WHERE c.job_id = ANY(%s) AND c.outcome = 'success'
               AND c.hold_period_starts[1] <> (budget_period_bounds('day', %s, c.sent_at)).period_start""", (ids, zone))
        assert wrong == []
        [(usage,)] = stack.sql("SELECT sum(cost) FROM model_usage WHERE job_id = ANY(%s)", (ids,))
        assert usage == cost * 20
    finally:
        stack.stop()


def test_200_concurrent_v1_calls_from_a_new_key_never_pass_its_budget():
    """LiteLLM #40095's shape: a key created a moment ago, a budget on it, and 200 concurrent
    calls at once. Every call is reserved before it is sent, so spend stays within the limit and
    the refused calls get a 429 the SDK does not retry."""
    with Stack.start(gateway_args=["--concurrency", "256"]) as stack:
        stack.add_model("gpt-v1budget", input_per_1k="0.0001", output_per_1k="0.01")
        name = "v1b-" + uuid.uuid4().hex[:6]
        agent = stack.create_agent(name, "gpt-v1budget")
        cost = one_call_cost(stack, agent)
        created = stack.api("POST", "/api/keys", {"role": "inference", "name": "fresh"})
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["id"]
        limit = cost * Decimal("10.5")
        budget = add_budget(stack, "api_key", key_id, limit)

        client = openai.OpenAI(base_url=stack.registry_url + "/v1", api_key=key, max_retries=2, timeout=120)
        results: list[str] = []
        lock = threading.Lock()

        def call() -> None:
            try:
                client.chat.completions.create(model=f"agent:{name}", max_tokens=6,
                                               messages=[{"role": "user", "content": "hello"}])
                outcome = "ok"
            except openai.RateLimitError as error:
                outcome = "429:" + (error.body or {}).get("code", "")
            except Exception as error:  # noqa: BLE001 - counted as a wrong outcome
                outcome = f"other:{type(error).__name__}:{error}"
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=call) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts = {outcome: results.count(outcome) for outcome in set(results)}
        assert counts == {"ok": 10, "429:budget_exceeded": 190}, counts
        spent, reserved = period(stack, budget)
        assert reserved == 0 and spent == cost * 10 <= limit
        # No SDK retry re-enqueued work: one job per call.
        [(jobs,)] = stack.sql("SELECT count(*) FROM llm_jobs WHERE api_key_id = %s", (key_id,))
        assert jobs <= 200


# -- 4. Alerts ------------------------------------------------------------------------------------

class Receiver:
    """The alert webhook: records each POST (body, headers)."""

    def __init__(self, port: int) -> None:
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_alerts_are_retried_while_the_webhook_is_down_and_delivered_once_signed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "whsec-" + uuid.uuid4().hex
    with Stack.start() as stack:
        stack.services.pop("llm-gateway").stop()
        stack.spawn_gateway("alerts", ["--concurrency", "8"], environment={
            "SWITCHBOARD_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{port}/budget-alerts",
            "SWITCHBOARD_ALERT_WEBHOOK_SECRET": secret, "SWITCHBOARD_ALERT_RETRY_BASE_MS": "100"})
        stack.add_model("gpt-alerts", input_per_1k="0.0001", output_per_1k="0.01")
        agent = stack.create_agent("alerts-" + uuid.uuid4().hex[:6], "gpt-alerts")
        cost = one_call_cost(stack, agent)
        budget = add_budget(stack, "agent", agent, cost * 4, alert_thresholds=[0.25, 0.5])
        ids = enqueue_same(stack, agent, 6)
        wait_for("jobs finished", lambda: unfinished(stack, ids) == 0, seconds=60, stack=stack)
        # 3 of 6 paid (a fourth call's maximum cost would not fit): 25 % and 50 % reached, once
        # each; the receiver is down, so they wait.
        wait_for("two failed deliveries each", lambda: stack.sql(
            "SELECT count(*) FROM budget_alerts WHERE attempts >= 2 AND delivered_at IS NULL AND last_error IS NOT NULL")[0][0] == 2,
                 seconds=60, stack=stack)
        receiver = Receiver(port)
        try:
            wait_for("alerts delivered", lambda: stack.sql(
                "SELECT count(*) FROM budget_alerts WHERE delivered_at IS NOT NULL")[0][0] == 2, seconds=60, stack=stack)
            # Nothing else arrives (each alert once).
            [(alerts,)] = stack.sql("SELECT count(*) FROM budget_alerts")
            assert alerts == 2
            assert len(receiver.received) == 2
            thresholds = set()
            for body, headers in receiver.received:
                timestamp = headers["X-Switchboard-Timestamp"]
                expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
                assert headers["X-Switchboard-Signature"] == "sha256=" + expected
                document = json.loads(body)
                assert document["type"] == "budget.threshold_reached" and document["budget_id"] == budget
                thresholds.add(document["threshold"])
            assert thresholds == {"0.25", "0.5"}
            shown = stack.api("GET", f"/api/budgets/{budget}").json()["alerts"]
            assert all(alert["delivered_at"] for alert in shown) and len(shown) == 2
        finally:
            receiver.stop()
