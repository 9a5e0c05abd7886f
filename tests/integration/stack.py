"""A real Switchboard stack for tests driven from Python (SDK clients, the browser, fuzzing).

`Stack.start()` creates a fresh database on the server named by DATABASE_URL (the throwaway
cluster `make test` starts), migrates it with `model-registry migrate`, starts `provider-stub`,
points the openai and anthropic providers at it, then starts one `llm-gateway` and
`model-registry serve` on free loopback ports, all built executables of this checkout
(SWITCHBOARD_BIN_DIR, default .build/debug). `stop()` ends the processes it started (by PID)
and drops the database. Process output goes to log files named in failures.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STUB_KEY_ENV = "STUB_KEY"
STUB_KEY = "sk-stub-integration"


def bin_dir() -> Path:
    return Path(os.environ.get("SWITCHBOARD_BIN_DIR", REPOSITORY_ROOT / ".build" / "debug"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(base: str, database: str) -> str:
    """`base` (a postgres:// URL) with its database name replaced."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


@dataclass
class Stack:
    database_url: str
    registry_url: str
    stub_url: str
    token: str | None
    services: dict[str, Service] = field(default_factory=dict)
    admin_url: str = ""
    database_name: str = ""

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(cls, token: str | None = "test-token", gateway_args: list[str] | None = None,
              stub_args: list[str] | None = None, registry_env: dict[str, str] | None = None,
              gateway_env: dict[str, str] | None = None) -> "Stack":
        admin_url = os.environ.get("DATABASE_URL")
        if not admin_url:
            raise RuntimeError("DATABASE_URL is not set (run through scripts/test.sh)")
        name = "it_" + secrets.token_hex(6)
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = database_url(admin_url, name)
        stub_port, registry_port = free_port(), free_port()
        stack = cls(database_url=url, registry_url=f"http://127.0.0.1:{registry_port}",
                    stub_url=f"http://127.0.0.1:{stub_port}", token=token,
                    admin_url=admin_url, database_name=name)
        try:
            stack._run_once(["model-registry", "migrate"])
            stack.sql(
                "UPDATE llm_providers SET base_url = %s, api_key_env = %s WHERE name IN ('openai', 'anthropic')",
                (stack.stub_url, STUB_KEY_ENV))
            stack._spawn("provider-stub", ["--port", str(stub_port), "--host", "127.0.0.1"] + (stub_args or []))
            stack._spawn("llm-gateway", ["run", "--worker-id", "it-" + name[-6:], "--metrics-port", "0",
                                         "--poll-interval", "0.2"] + (gateway_args or []), gateway_env)
            environment = dict(registry_env or {})
            if token:
                environment["SWITCHBOARD_ADMIN_TOKEN"] = token
            stack._spawn("model-registry", ["serve", "--port", str(registry_port), "--host", "127.0.0.1"],
                         environment)
            stack._wait_ready()
        except BaseException:
            stack.stop()
            raise
        return stack

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
        if self.database_name:
            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
            self.database_name = ""

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------------------------

    def headers(self, token: str | None = None) -> dict[str, str]:
        token = token if token is not None else self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def api(self, method: str, path: str, json=None, token: str | None = None, **kwargs) -> requests.Response:
        """An HTTP call to model-registry with the stack's bearer token."""
        return requests.request(method, self.registry_url + path, json=json, headers=self.headers(token),
                                timeout=kwargs.pop("timeout", 30), **kwargs)

    def sql(self, query: str, params=None) -> list[tuple]:
        """Runs one statement on the stack's database; returns its rows (empty for none)."""
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def add_model(self, model_id: str, provider: str = "openai", context_window: int = 128_000,
                  max_output: int = 4096, input_per_1k: str = "0.0025", output_per_1k: str = "0.01",
                  min_temperature: float = 0, max_temperature: float = 2, status: str = "active") -> None:
        """A catalog model at `provider` (models named stub-… steer provider-stub; see docs/providers.md)."""
        self.sql("""
            INSERT INTO llm_models (provider, model_id, display_name, context_window, max_output_tokens,
                                    input_cost_per_1k, output_cost_per_1k, min_temperature, max_temperature, status)
            VALUES (%s, %s, %s, %s, %s, %s::numeric, %s::numeric, %s, %s, %s)
            """, (provider, model_id, model_id, context_window, max_output, input_per_1k, output_per_1k,
                  min_temperature, max_temperature, status))

    def create_agent(self, name: str, model: str, fallbacks: list[str] | None = None, **config) -> str:
        """An agent created over the API, with a model_config; returns its id."""
        reply = self.api("POST", "/api/agents", {"name": name, "agent_type": "test"})
        assert reply.status_code in (200, 201), reply.text
        agent_id = reply.json()["id"]
        body = {"model_id": model, **config}
        if fallbacks:
            body["fallback_model_ids"] = fallbacks
        reply = self.api("PUT", f"/api/agents/{agent_id}/model-config", body)
        assert reply.status_code == 200, reply.text
        return agent_id

    def spawn_gateway(self, worker_id: str, arguments: list[str] | None = None,
                      database_url: str | None = None, environment: dict[str, str] | None = None) -> Service:
        """Another `llm-gateway run` (service name `llm-gateway-<worker_id>`), optionally on another
        route to the database (e.g. through a proxy) and with more environment variables."""
        extra = dict(environment or {})
        if database_url:
            extra["DATABASE_URL"] = database_url
        return self._spawn(f"llm-gateway-{worker_id}",
                           ["run", "--worker-id", worker_id, "--metrics-port", "0", "--poll-interval", "0.2"]
                           + (arguments or []), extra, executable="llm-gateway")

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ({s.log})\n{s.tail()}" for s in self.services.values())

    # -- internals ---------------------------------------------------------------------------

    def _environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environment = dict(os.environ)
        for name in ("SWITCHBOARD_ADMIN_TOKEN", "SWITCHBOARD_API_TOKEN", "SWITCHBOARD_READ_TOKEN"):
            environment.pop(name, None)
        # The stub's key is bound to the stub's host, as an operator binds real keys.
        environment.update({"DATABASE_URL": self.database_url, STUB_KEY_ENV: STUB_KEY, "LOG_LEVEL": "notice",
                            "SWITCHBOARD_KEY_HOSTS": f"{STUB_KEY_ENV}=127.0.0.1",
                            # Keyless providers of the fault tests live on 127.0.0.1 too.
                            "SWITCHBOARD_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"})
        environment.update(extra or {})
        return environment

    def _run_once(self, command: list[str]) -> None:
        executable = bin_dir() / command[0]
        result = subprocess.run([str(executable)] + command[1:], cwd=REPOSITORY_ROOT, env=self._environment(),
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _spawn(self, name: str, arguments: list[str], extra_env: dict[str, str] | None = None,
               executable: str | None = None) -> Service:
        log = Path(tempfile.gettempdir()) / f"switchboard-it-{name}-{self.database_name}.log"
        handle = open(log, "wb")
        process = subprocess.Popen([str(bin_dir() / (executable or name))] + arguments, cwd=REPOSITORY_ROOT,
                                   env=self._environment(extra_env), stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        service = Service(name, process, log)
        self.services[name] = service
        return service

    def _wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        targets = {"model-registry": self.registry_url + "/readyz", "provider-stub": self.stub_url + "/healthz"}
        pending = dict(targets)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                service = self.services[name]
                if service.process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {service.process.returncode}:\n{service.tail()}")
                try:
                    if requests.get(pending[name], timeout=2).status_code == 200:
                        del pending[name]
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        gateway = self.services["llm-gateway"]
        if gateway.process.poll() is not None:
            raise RuntimeError(f"llm-gateway exited with {gateway.process.returncode}:\n{gateway.tail()}")
        if pending:
            raise RuntimeError(f"not ready after {seconds}s: {sorted(pending)}\n{self.logs()}")
