"""Checks shared by the fault tests (tests/integration/test_faults_*.py)."""

from __future__ import annotations

import time

from stack import Stack


def enqueue(stack: Stack, agent: str, count: int, label: str = "job") -> list[int]:
    """`count` jobs for `agent` by plain SQL (the documented enqueue path); returns their ids."""
    rows = stack.sql("""
        INSERT INTO llm_jobs (agent_id, request)
        SELECT %s::uuid, jsonb_build_object('messages', jsonb_build_array(
                   jsonb_build_object('role', 'user', 'content', %s || ' ' || g)))
          FROM generate_series(1, %s) g
        RETURNING id
        """, (agent, label, count))
    return [row[0] for row in rows]


def wait_for(what: str, done, seconds: float = 120, stack: Stack | None = None) -> None:
    """Polls `done()` until it is true; fails naming `what` (and the stack's logs) after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting: {what}\n{stack.logs() if stack else ''}")


def unfinished(stack: Stack, ids: list[int]) -> int:
    return stack.sql("SELECT count(*) FROM llm_jobs WHERE id = ANY(%s) AND status IN ('queued', 'running')", (ids,))[0][0]


def assert_each_succeeded_once(stack: Stack, ids: list[int]) -> None:
    """Every job succeeded, with exactly one successful call recorded for its final attempt, and no
    call started after the job finished (nothing ran a job again once it was complete)."""
    statuses = dict(stack.sql("SELECT status, count(*) FROM llm_jobs WHERE id = ANY(%s) GROUP BY 1", (ids,)))
    assert statuses == {"succeeded": len(ids)}, statuses
    wrong = stack.sql("""
        SELECT j.id, count(u.*) FILTER (WHERE u.outcome = 'success' AND u.attempt = j.attempt)
          FROM llm_jobs j LEFT JOIN model_usage u ON u.job_id = j.id
         WHERE j.id = ANY(%s)
         GROUP BY j.id
        HAVING count(u.*) FILTER (WHERE u.outcome = 'success' AND u.attempt = j.attempt) <> 1
         LIMIT 10
        """, (ids,))
    assert wrong == [], f"jobs without exactly one success on their final attempt: {wrong}"
    late = stack.sql("""
        SELECT u.job_id, u.started_at, j.finished_at FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id
         WHERE j.id = ANY(%s) AND u.started_at > j.finished_at LIMIT 10
        """, (ids,))
    assert late == [], f"calls started after their job had finished: {late}"


def assert_counters_agree(stack: Stack) -> None:
    """agent_usage_daily and execution_usage equal what the model_usage rows add up to."""
    mismatches = stack.sql("""
        WITH usage_rows AS (
            SELECT agent_id, provider, model_id, count(*) AS requests,
                   count(*) FILTER (WHERE outcome = 'success') AS successes,
                   count(*) FILTER (WHERE outcome = 'error') AS errors,
                   count(*) FILTER (WHERE fallback_depth > 0) AS fallback_requests,
                   coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
                   count(cost) AS priced, coalesce(sum(cost), 0) AS cost, coalesce(sum(latency_ms), 0) AS latency
              FROM model_usage GROUP BY 1, 2, 3
        ), counters AS (
            SELECT agent_id, provider, model_id, sum(requests) AS requests, sum(successes) AS successes,
                   sum(errors) AS errors, sum(fallback_requests) AS fallback_requests,
                   sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   sum(priced_requests) AS priced, sum(cost) AS cost, sum(latency_ms_sum) AS latency
              FROM agent_usage_daily GROUP BY 1, 2, 3
        )
        SELECT r.*, c.* FROM usage_rows r FULL JOIN counters c USING (agent_id, provider, model_id)
         WHERE (r.requests, r.successes, r.errors, r.fallback_requests, r.input_tokens, r.output_tokens,
                r.priced, r.cost, r.latency)
               IS DISTINCT FROM
               (c.requests, c.successes, c.errors, c.fallback_requests, c.input_tokens, c.output_tokens,
                c.priced, c.cost, c.latency)
        """)
    assert mismatches == [], f"counters differ from usage rows: {mismatches}"


def stub_stats(stack: Stack) -> dict:
    import requests
    return requests.get(stack.stub_url + "/stats", timeout=10).json()


class Cluster:
    """A PostgreSQL cluster of the test's own (scripts/local-postgres.sh), for tests that restart
    the server: doing that to the shared test cluster would break every test beside them."""

    def __init__(self) -> None:
        import secrets
        import subprocess
        from stack import REPOSITORY_ROOT
        self.name = "faults-" + secrets.token_hex(4)
        self.directory = f"/tmp/switchboard-pg-{self.name}"
        self._script = str(REPOSITORY_ROOT / "scripts" / "local-postgres.sh")
        import tempfile
        with tempfile.TemporaryFile() as output:
            result = subprocess.run([self._script, "start", self.name], env=self._env(), stdout=output,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180)
            output.seek(0)
            text = output.read().decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"local-postgres.sh start failed: {text}")
        line = [line for line in text.splitlines() if line.startswith("DATABASE_URL=")][-1]
        self.url = line.removeprefix("DATABASE_URL=")

    def _env(self) -> dict[str, str]:
        import os
        environment = dict(os.environ)
        environment["DATABASE_URL"] = ""
        environment["SWITCHBOARD_PG_DIR"] = self.directory
        return environment

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session ends, the server comes back on the same port."""
        import glob
        import os
        import subprocess
        bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")])[-1]
        command = [f"{bindir}/pg_ctl", "-D", f"{self.directory}/data", "-l", f"{self.directory}/log",
                   "-w", "-t", "60", "-m", "fast", "restart"]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        # Output to a file, not a pipe: the restarted server must not inherit (and hold) our pipe.
        import tempfile
        with tempfile.TemporaryFile() as output:
            result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, timeout=120,
                                    stdin=subprocess.DEVNULL)
            output.seek(0)
            text = output.read().decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {text}")

    def destroy(self) -> None:
        import subprocess
        subprocess.run([self._script, "destroy", self.name], env=self._env(), capture_output=True, timeout=120)
