"""Fault tests, database side (docs/development.md "Fault tests"): the link between a worker and Postgres cut
while jobs run (a TCP proxy on loopback that the test stops and restarts), a COMMIT whose answer
is lost, and `pg_ctl restart` of the database under two gateways and a registry."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest
import requests

from fault_servers import TcpProxy
from faults import Cluster, assert_counters_agree, assert_each_succeeded_once, enqueue, stub_stats, unfinished, wait_for
from stack import Stack


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by 127.0.0.1:`port`."""
    parts = urllib.parse.urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urllib.parse.urlunsplit((parts.scheme, f"{user}127.0.0.1:{port}", parts.path, parts.query, parts.fragment))


@pytest.fixture()
def proxied():
    """A stack whose only worker reaches Postgres through a `TcpProxy` (the stack's own gateway
    is stopped), so the test can cut that worker's link alone."""
    with Stack.start() as stack:
        stack.services.pop("llm-gateway").stop()
        parts = urllib.parse.urlsplit(stack.database_url)
        proxy = TcpProxy("127.0.0.1", parts.port)
        try:
            worker = stack.spawn_gateway("behind-proxy", ["--concurrency", "100", "--lease-seconds", "30",
                                                          "--batch-size", "16"],
                                         database_url=through(stack.database_url, proxy.port))
            yield stack, proxy, worker
        finally:
            proxy.stop()


def test_network_cut_between_worker_and_postgres_loses_no_call(proxied):
    """Bullet: "network cut between gateway and Postgres while jobs run → the worker keeps its
    in-flight calls, reconnects, and completes them"; every job ends succeeded exactly once."""
    stack, proxy, worker = proxied
    model = "stub-cut-latency-2s"
    stack.add_model(model, provider="openai")
    agent = stack.create_agent("cut-" + uuid.uuid4().hex[:6], model)
    ids = enqueue(stack, agent, 300, "cut")
    wait_for("100 calls in flight", lambda: stub_stats(stack)["in_flight"] >= 100, seconds=60, stack=stack)

    dropped = proxy.cut()
    assert dropped > 0
    # The link stays down until the in-flight calls have finished (2 s each): their outcomes cannot
    # be written and must be kept, not thrown away.
    wait_for("the calls in flight answered during the cut", lambda: stub_stats(stack)["in_flight"] == 0,
             seconds=60, stack=stack)
    assert worker.process.poll() is None, worker.tail()
    proxy.resume()
    wait_for("every job finished", lambda: unfinished(stack, ids) == 0, seconds=120, stack=stack)

    assert_each_succeeded_once(stack, ids)
    # No call was made twice: the calls in flight during the cut were completed, not rerun.
    assert stub_stats(stack)["models"][model] == {"ok": 300}
    assert stack.sql("SELECT count(*), max(attempt) FROM llm_jobs WHERE id = ANY(%s)", (ids,)) == [(300, 1)]
    assert stack.sql("SELECT count(*) FROM model_usage")[0][0] == 300
    assert_counters_agree(stack)
    assert worker.process.poll() is None, worker.tail()
    assert proxy.accepted > dropped, "the worker reconnected"


def test_a_commit_whose_answer_is_lost_is_not_written_twice(proxied):
    """The ambiguous commit: the completion's COMMIT reaches Postgres, the link breaks before the
    answer comes back. The worker must find out whether it committed instead of writing the batch
    again (which would duplicate its usage rows and counters)."""
    stack, proxy, worker = proxied
    model = "stub-commit-latency-300ms"
    stack.add_model(model, provider="openai")
    agent = stack.create_agent("commit-" + uuid.uuid4().hex[:6], model)
    first = enqueue(stack, agent, 5, "warm-up")
    wait_for("warm-up done", lambda: unfinished(stack, first) == 0, seconds=60, stack=stack)

    proxy.cut_after_next_commit()
    ids = enqueue(stack, agent, 40, "commit")
    assert proxy.commit_cut.wait(60), stack.logs()
    time.sleep(1)
    proxy.resume()
    wait_for("every job finished", lambda: unfinished(stack, ids) == 0, seconds=120, stack=stack)

    # The trap caught a completion batch (not some other transaction): the worker said so.
    assert "gateway.completion.outcome_unknown" in worker.log.read_text(errors="replace"), worker.tail()
    assert_each_succeeded_once(stack, first + ids)
    calls = stub_stats(stack)["models"][model]["ok"]
    assert stack.sql("SELECT count(*) FROM model_usage")[0][0] == calls, "one usage row per call, none twice"
    assert_counters_agree(stack)
    assert worker.process.poll() is None, worker.tail()


def test_shutdown_during_an_outage_ends_and_the_rescuer_settles_its_calls():
    """F6: SIGTERM while the worker cannot reach Postgres and holds answered calls it could not
    write. The shutdown ends after the grace period and the write timeout (before the fix the
    completer retried forever and the process never exited), with exit status 1 and a log naming
    the abandoned jobs; their calls stay open in the ledger, and another worker's rescuer settles
    them as unknown and runs the jobs again: nothing is left open, every job succeeds once."""
    with Stack.start() as stack:
        stack.services.pop("llm-gateway").stop()
        parts = urllib.parse.urlsplit(stack.database_url)
        proxy = TcpProxy("127.0.0.1", parts.port)
        short_lease = ["--lease-seconds", "4", "--allow-short-lease"]
        try:
            worker = stack.spawn_gateway(
                "outage", ["--concurrency", "20", *short_lease, "--grace-period", "1", "--shutdown-write-seconds", "2"],
                database_url=through(stack.database_url, proxy.port))
            model = "stub-outage-latency-2s"
            stack.add_model(model, provider="openai")
            agent = stack.create_agent("outage-" + uuid.uuid4().hex[:6], model)
            ids = enqueue(stack, agent, 10, "outage")
            wait_for("10 calls in flight", lambda: stub_stats(stack)["in_flight"] >= 10, seconds=60, stack=stack)
            proxy.cut()
            wait_for("the calls answered during the cut", lambda: stub_stats(stack)["in_flight"] == 0,
                     seconds=60, stack=stack)
            worker.process.send_signal(signal.SIGTERM)
            try:
                # Bounded, not timed: grace 1 s + write timeout 2 s + a stalled statement's deadline.
                status = worker.process.wait(120)
            except subprocess.TimeoutExpired:
                pytest.fail("llm-gateway did not exit after SIGTERM while Postgres was unreachable:\n" + worker.tail())
            log = worker.log.read_text(errors="replace")
            assert status == 1, worker.tail()
            assert "gateway.shutdown.outcomes_abandoned" in log, worker.tail()
        finally:
            proxy.stop()

        # The calls were made (the stub answered them) but their outcomes are lost: the ledger
        # still shows each of them, open, and nothing else was written.
        assert stack.sql("SELECT count(*) FROM llm_job_calls WHERE job_id = ANY(%s) AND settled_at IS NULL",
                         (ids,)) == [(10,)]
        assert stack.sql("SELECT count(*) FROM model_usage WHERE job_id = ANY(%s)", (ids,)) == [(0,)]
        stack.spawn_gateway("rescuer", short_lease)
        wait_for("every job finished", lambda: unfinished(stack, ids) == 0, seconds=120, stack=stack)
        assert_each_succeeded_once(stack, ids)
        assert stack.sql("SELECT count(*) FROM llm_job_calls WHERE job_id = ANY(%s) AND settled_at IS NULL",
                         (ids,)) == [(0,)]
        assert stack.sql("""SELECT count(*) FROM llm_job_calls WHERE job_id = ANY(%s) AND attempt = 1
                             AND outcome = 'unknown'""", (ids,)) == [(10,)]
        # Run again, so called twice: the price of an outcome that could not be written.
        assert stub_stats(stack)["models"][model] == {"ok": 20}


@pytest.fixture()
def restartable(monkeypatch):
    """A stack on a cluster of its own, with a second gateway beside the stack's."""
    cluster = Cluster()
    try:
        monkeypatch.setenv("DATABASE_URL", cluster.url)
        with Stack.start(gateway_args=["--concurrency", "16", "--lease-seconds", "30"]) as stack:
            second = stack.spawn_gateway("restart-2", ["--concurrency", "16", "--lease-seconds", "30"])
            yield stack, cluster, second
    finally:
        cluster.destroy()


def long_poll(stack: Stack, job: int, seconds: int, into: dict) -> None:
    try:
        into["reply"] = stack.api("GET", f"/api/jobs/{job}?wait={seconds}", timeout=seconds + 15)
    except requests.RequestException as error:
        into["error"] = error


def test_pg_ctl_restart_gateways_and_registry_reconnect(restartable):
    """Bullet: "`pg_ctl restart` of the database mid-run → the gateways and the registry reconnect
    by themselves; nothing lost". Two gateway processes and a real `model-registry serve`; after
    the restart /readyz and the API answer again and the long-poll listener works again."""
    stack, cluster, second = restartable
    model = "stub-restart-latency-300ms"
    stack.add_model(model, provider="openai")
    stack.add_model("stub-restart-poll-latency-1s", provider="openai")
    agent = stack.create_agent("restarted", model)
    slow_agent = stack.create_agent("long-polled", "stub-restart-poll-latency-1s")
    ids = enqueue(stack, agent, 1000, "restart")

    # A long-poll before the restart starts the registry's listener (JobCompletionHub).
    job = stack.api("POST", "/api/jobs", {"agent_id": slow_agent, "priority": 10,
                                          "messages": [{"role": "user", "content": "before"}]}).json()
    assert stack.api("GET", f"/api/jobs/{job['id']}?wait=30", timeout=45).json()["status"] == "succeeded"
    wait_for("a third done", lambda: len(ids) - unfinished(stack, ids) >= 200, seconds=120, stack=stack)

    cluster.restart()

    # The registry: ready again, the API answers, without being restarted.
    wait_for("registry ready", lambda: requests.get(stack.registry_url + "/readyz", timeout=5).status_code == 200,
             seconds=60, stack=stack)
    assert stack.api("GET", "/api/models").status_code == 200
    reply = stack.api("GET", f"/api/jobs/{ids[0]}")
    assert reply.status_code == 200, reply.text

    # The long-poll listener is back: a waiter registers (only done once LISTEN is in place) and
    # is answered by the completion's notification, well before its 50-s deadline would.
    job = stack.api("POST", "/api/jobs", {"agent_id": slow_agent, "priority": 10,
                                          "messages": [{"role": "user", "content": "after"}]}).json()
    result: dict = {}
    poller = threading.Thread(target=long_poll, args=(stack, job["id"], 50, result))
    started = time.monotonic()
    poller.start()
    wait_for("waiter registered", lambda: stack.sql(
        "SELECT count(*) FROM llm_job_waiters WHERE job_id = %s", (job["id"],))[0][0] == 1
        or "reply" in result, seconds=30, stack=stack)
    poller.join(65)
    assert "reply" in result, result
    # At its deadline a long-poll answers the job's current state anyway: only an answer well
    # before the 50 s shows the notification arrived.
    assert time.monotonic() - started < 25, "the long-poll answered at its deadline, not on the notification"
    assert result["reply"].status_code == 200 and result["reply"].json()["status"] == "succeeded", result["reply"].text
    assert stack.sql("SELECT count(*) FROM llm_job_waiters WHERE job_id = %s", (job["id"],))[0][0] == 0

    wait_for("every job finished", lambda: unfinished(stack, ids) == 0, seconds=180, stack=stack)
    assert_each_succeeded_once(stack, ids)
    assert_counters_agree(stack)
    # Both gateways worked through the restart on their own (same processes, no exit).
    for service in (stack.services["llm-gateway"], second, stack.services["model-registry"]):
        assert service.process.poll() is None, service.tail()
    workers = stack.sql("""
        SELECT DISTINCT u.worker_id FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id
         WHERE j.id = ANY(%s) AND j.finished_at > pg_postmaster_start_time()
        """, (ids,))
    assert len(workers) == 2, f"both workers completed jobs after the restart: {workers}"
