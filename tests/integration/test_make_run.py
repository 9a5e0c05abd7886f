"""`make run` as a user runs it: scripts/run.sh with the built executables of this checkout
(SWITCHBOARD_BIN_DIR, default .build/debug, instead of a release build), free ports and a fresh
local PostgreSQL cluster of its own (SWITCHBOARD_PG_DIR). A Ctrl-C is a SIGINT to the script's
process group, as a terminal sends it."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from stack import REPOSITORY_ROOT, bin_dir

RUN_SH = REPOSITORY_ROOT / "scripts" / "run.sh"
LOCAL_POSTGRES = REPOSITORY_ROOT / "scripts" / "local-postgres.sh"
DEMO_MESSAGE = "demo mode: no OPENAI_API_KEY / ANTHROPIC_API_KEY / HF_TOKEN — using the local provider-stub"
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN")


@dataclass
class Cluster:
    """The local cluster run.sh starts and stops (its files under `directory`)."""
    directory: str

    def environment(self) -> dict[str, str]:
        # Without DATABASE_URL (the harness's server): local-postgres.sh would use that instead.
        environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        return {**environment, "SWITCHBOARD_PG_DIR": self.directory}

    def command(self, action: str) -> str:
        result = subprocess.run([str(LOCAL_POSTGRES), action, "dev"], env=self.environment(),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def url(self) -> str:
        return self.command("url")

    def postmaster_pid(self) -> int | None:
        try:
            return int(Path(self.directory, "data", "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def quiet_port(taken: tuple[int, ...] = ()) -> int:
    """A free port below the kernel's ephemeral range (and below the band local-postgres.sh uses),
    so that no outgoing connection of another test can take it between this check and the bind."""
    import random
    import socket
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in random.sample(range(low - 3000, low - 700), 200):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Run:
    """One `scripts/run.sh` process, its output in a file."""

    def __init__(self, tmp_path: Path, cluster: Cluster, extra_env: dict[str, str] | None = None) -> None:
        self.registry_port = quiet_port()
        self.stub_port = quiet_port((self.registry_port,))
        self.metrics_port = quiet_port((self.registry_port, self.stub_port))
        self.output_path = tmp_path / f"run-{secrets.token_hex(3)}.out"
        self.run_dir = tmp_path / "run"
        environment = {k: v for k, v in cluster.environment().items()
                       if k not in KEY_VARIABLES + ("DATABASE_URL", "SWITCHBOARD_API_TOKEN", "PORT")}
        environment.update({
            "SWITCHBOARD_BIN_DIR": str(bin_dir().resolve()),
            "SWITCHBOARD_RUN_DIR": str(self.run_dir),
            "PORT": str(self.registry_port),
            "PROVIDER_STUB_PORT": str(self.stub_port),
            "GATEWAY_METRICS_PORT": str(self.metrics_port),
        })
        environment.update(extra_env or {})
        with open(self.output_path, "wb") as output:
            # A session of its own: the SIGINT below reaches the script's group only, like Ctrl-C.
            self.process = subprocess.Popen([str(RUN_SH)], cwd=REPOSITORY_ROOT, env=environment,
                                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        self.api = f"http://127.0.0.1:{self.registry_port}"
        self.token = ""

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def logs(self) -> str:
        parts = [f"--- run.sh output\n{self.output()}"]
        for log in sorted(self.run_dir.glob("*.log")):
            parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(parts)

    def wait_running(self, seconds: float = 240) -> None:
        """Until the script says how to stop it (services ready, demo workflow finished)."""
        deadline = time.monotonic() + seconds
        while "Press Ctrl-C" not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"run.sh exited with {self.process.returncode}\n{self.logs()}")
            if time.monotonic() > deadline:
                self.interrupt()
                pytest.fail(f"run.sh not running after {seconds}s\n{self.logs()}")
            time.sleep(0.2)
        match = re.search(r"^  API token\s+(\S+)", self.output(), re.MULTILINE)
        assert match, self.output()
        self.token = match.group(1)

    def services(self) -> dict[str, int]:
        """name → pid of the processes the script started (its children)."""
        found = {}
        for pid in children_of(self.process.pid):
            line = command_line(pid)
            for name in ("model-registry", "llm-gateway", "provider-stub"):
                if f"/{name} " in line:
                    found[name] = pid
        return found

    def get(self, path: str) -> dict:
        reply = requests.get(self.api + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def interrupt(self, seconds: float = 120) -> int:
        if self.process.poll() is not None:
            return self.process.returncode
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            pytest.fail(f"run.sh did not stop within {seconds}s after SIGINT\n{self.logs()}")


def sql(url: str, query: str, params=None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def cluster():
    """A fresh local cluster for this module's runs, removed at the end. Under /tmp: as root the
    server runs as `postgres`, which must reach the directory."""
    made = Cluster(f"/tmp/switchboard-pg-makerun-{os.getpid()}-{secrets.token_hex(3)}")
    yield made
    subprocess.run([str(LOCAL_POSTGRES), "destroy", "dev"], env=made.environment(), capture_output=True, timeout=120)


def demo_execution_id(run: Run) -> str:
    match = re.search(r"submitted as execution ([0-9a-f-]{36})", run.output())
    assert match, run.logs()
    return match.group(1)


def test_demo_run_shows_succeeded_jobs_then_ctrl_c_stops_everything(tmp_path, cluster):
    run = Run(tmp_path, cluster)
    services: dict[str, int] = {}
    postmaster = None
    try:
        run.wait_running()
        output = run.output()
        assert DEMO_MESSAGE in output
        assert f"http://127.0.0.1:{run.registry_port}/" in output
        services = run.services()
        assert set(services) == {"model-registry", "llm-gateway", "provider-stub"}, run.logs()
        postmaster = cluster.postmaster_pid()
        assert postmaster is not None and process_alive(postmaster)

        # The API: the demo workflow finished, every job succeeded, the writer's on its fallback.
        execution_id = demo_execution_id(run)
        execution = run.get(f"/api/executions/{execution_id}")
        assert execution["status"] == "succeeded", execution
        assert len(execution["steps"]) == 4
        assert {step["status"] for step in execution["steps"]} == {"succeeded"}
        assert {step["provider"] for step in execution["steps"]} == {"openai", "anthropic"}
        assert execution["requests"] >= 6 and execution["total_cost"] > 0
        agents = run.get("/api/agents?agent_type=demo")["agents"]
        assert sorted(agent["name"] for agent in agents) == ["Demo planner", "Demo writer"]

        # SQL: the same jobs and the provider calls behind them, fallbacks included.
        url = cluster.url()
        jobs = sql(url, """SELECT step, status, result->>'provider', (result->>'fallback_depth')::int
                             FROM llm_jobs WHERE execution_id = %s ORDER BY step""", (execution_id,))
        assert [(step, status) for step, status, _, _ in jobs] == [
            ("draft", "succeeded"), ("headline", "succeeded"), ("outline", "succeeded"), ("review", "succeeded")]
        assert sum(1 for *_, depth in jobs if depth > 0) == 2
        calls = sql(url, """SELECT u.provider, u.model_id, u.outcome, u.error_class
                              FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id
                             WHERE j.execution_id = %s""", (execution_id,))
        assert ("anthropic", "stub-error-quota", "error", "quota_exhausted") in calls, calls
        assert {(p, m) for p, m, outcome, _ in calls if outcome == "success"} == {
            ("openai", "gpt-4.1-mini"), ("anthropic", "claude-haiku-4-5")}
        assert sql(url, "SELECT base_url FROM llm_providers WHERE name = 'openai'") == [
            (f"http://127.0.0.1:{run.stub_port}",)]
    finally:
        status = run.interrupt()

    assert status == 0, run.logs()
    assert "PostgreSQL (local cluster dev) stopped" in run.output()
    for name, pid in services.items():
        assert not process_alive(pid), f"{name} ({pid}) still runs"
    assert postmaster is not None and not process_alive(postmaster), "the local PostgreSQL still runs"
    assert cluster.postmaster_pid() is None  # a clean shutdown removes postmaster.pid


def test_second_run_reuses_the_demo_agents_and_keys_undo_the_demo(tmp_path, cluster):
    # An operator's own endpoint, set before any demo: the demo replaces it, keys bring it back.
    cluster.command("start")
    url = cluster.url()
    if not sql(url, "SELECT 1 FROM pg_tables WHERE tablename = 'llm_providers'"):
        cluster.command("stop")
        first = Run(tmp_path, cluster)  # this test alone: a first demo run
        first.wait_running()
        assert first.interrupt() == 0, first.logs()
        cluster.command("start")
    sql(url, """UPDATE llm_providers SET base_url = 'https://llm-proxy.internal.example', api_key_env = 'OPENAI_API_KEY'
                 WHERE name = 'openai'""")
    agents_before = sql(url, "SELECT id FROM agents WHERE agent_type = 'demo' ORDER BY id")
    executions_before = sql(url, "SELECT count(*) FROM workflow_executions")[0][0]
    assert len(agents_before) == 2
    cluster.command("stop")

    # A kept token that starts with '-' (secrets.token_urlsafe gives one in 64 runs) must reach the
    # demo seeding as a token, not be taken for an option.
    (tmp_path / "run").mkdir(exist_ok=True)
    (tmp_path / "run" / "api-token").write_text("-dash-first-token-kept-from-a-run\n")
    again = Run(tmp_path, cluster)
    try:
        again.wait_running()
        assert again.token == "-dash-first-token-kept-from-a-run"
        url = cluster.url()
        assert sql(url, "SELECT id FROM agents WHERE agent_type = 'demo' ORDER BY id") == agents_before
        assert sql(url, "SELECT count(*) FROM workflow_executions")[0][0] == executions_before + 1
        assert again.get(f"/api/executions/{demo_execution_id(again)}")["status"] == "succeeded"
    finally:
        assert again.interrupt() == 0, again.logs()

    # Keys set, and the database given by DATABASE_URL: real providers, nothing faked, and on
    # Ctrl-C the database (not ours to stop) keeps running.
    url = cluster.command("start").partition("=")[2]
    real = Run(tmp_path, cluster, {"OPENAI_API_KEY": "sk-test-never-sent", "DATABASE_URL": url})
    try:
        real.wait_running()
        assert "demo mode" not in real.output()
        assert set(real.services()) == {"model-registry", "llm-gateway"}
        providers = dict((name, (base, key)) for name, base, key in sql(
            url, "SELECT name, base_url, api_key_env FROM llm_providers ORDER BY name"))
        assert providers == {
            "openai": ("https://llm-proxy.internal.example", "OPENAI_API_KEY"),
            "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY"),
            "huggingface": ("https://router.huggingface.co", "HF_TOKEN"),
        }
        assert sql(url, "SELECT count(*) FROM workflow_executions")[0][0] == executions_before + 1
    finally:
        assert real.interrupt() == 0, real.logs()
    assert "PostgreSQL (local cluster dev) stopped" not in real.output()
    assert sql(url, "SELECT 1") == [(1,)]
    cluster.command("stop")


def test_a_service_that_dies_at_start_stops_the_rest_and_the_database(tmp_path, cluster):
    # The gateway refuses a lease under 1 s and exits at once.
    run = Run(tmp_path, cluster, {"GATEWAY_LEASE_SECONDS": "0.5"})
    try:
        status = run.process.wait(240)
    except subprocess.TimeoutExpired:
        run.interrupt()
        pytest.fail(f"run.sh kept running with a dead gateway\n{run.logs()}")
    output = run.output()
    assert status != 0, output
    assert "--lease-seconds must be at least 1" in output, output  # the dead service's log, shown
    assert "PostgreSQL (local cluster dev) stopped" in output, output
    assert children_of(run.process.pid) == []
    assert cluster.postmaster_pid() is None


def test_a_busy_port_is_named_before_anything_starts(tmp_path, cluster):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = Run(tmp_path, cluster, {"PORT": str(port)})
        status = run.process.wait(120)
    assert status != 0
    assert f"port {port} (model-registry) is in use" in run.output(), run.output()
    assert cluster.postmaster_pid() is None
