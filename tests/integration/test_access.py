"""Tenants and keys as a user meets them (docs/security.md, the README's walk-through): the CLI
makes a tenant and keys, an operator key configures an agent, an inference key calls it through the
official OpenAI SDK, and neither can touch providers or another tenant's jobs. Also the open mode's
loopback Host check over a real socket."""

import http.client
import subprocess
import time

import openai
import pytest
from anthropic import Anthropic
from openai import OpenAI

from stack import REPOSITORY_ROOT, Stack, bin_dir
from v1_support import unique


def cli(stack, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir() / "model-registry"), *arguments], cwd=REPOSITORY_ROOT,
                          env=stack._environment(), capture_output=True, text=True, timeout=60)


def create_key(stack, tenant: str, role: str, *extra: str) -> str:
    result = cli(stack, "keys", "create", "--tenant", tenant, "--role", role, *extra)
    assert result.returncode == 0, result.stderr
    # The key alone on stdout, so KEY=$(model-registry keys create …) works; details on stderr.
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("sb_"), result.stdout
    assert "shown only this once" in result.stderr
    return result.stdout.strip()


def test_a_team_gets_its_own_keys_and_view(stack):
    team, other = unique("team"), unique("other")
    for name in (team, other):
        result = cli(stack, "tenants", "create", name)
        assert result.returncode == 0, result.stderr
    operator_key = create_key(stack, team, "operator", "--name", "ops")
    inference_key = create_key(stack, team, "inference", "--name", "app", "--expires", "30d")
    other_key = create_key(stack, other, "inference")

    # The operator configures an agent of its tenant (the model is the stub's).
    model = unique("stub-oai-ok")
    stack.add_model(model, provider="openai")
    agent = stack.api("POST", "/api/agents", {"name": "writer", "agent_type": "writer"}, token=operator_key)
    assert agent.status_code == 201, agent.text
    assert agent.json()["tenant_id"] == stack.sql("SELECT id::text FROM tenants WHERE name = %s", (team,))[0][0]
    config = stack.api("PUT", f"/api/agents/{agent.json()['id']}/model-config", {"model_id": model}, token=operator_key)
    assert config.status_code == 200, config.text

    # The application calls it with the inference key through the official SDK.
    client = OpenAI(base_url=stack.registry_url + "/v1", api_key=inference_key, max_retries=0, timeout=60)
    raw = client.chat.completions.with_raw_response.create(
        model="agent:writer", messages=[{"role": "user", "content": "Say hello"}])
    assert raw.parse().choices[0].message.content == "Stub reply to: Say hello"
    job_id = int(raw.headers["x-switchboard-job-id"])
    # The Anthropic SDK sends the same key as x-api-key.
    message = Anthropic(base_url=stack.registry_url, api_key=inference_key, max_retries=0, timeout=60).messages.create(
        model="agent:writer", max_tokens=100, messages=[{"role": "user", "content": "Say hi"}])
    assert message.content[0].text == "Stub reply to: Say hi"
    listed = stack.api("GET", "/api/keys", token=operator_key).json()["keys"]
    app = next(key for key in listed if key["name"] == "app")
    assert app["role"] == "inference" and app["last_used_at"] is not None and app["expires_at"] is not None
    assert "key" not in app and inference_key.startswith(app["prefix"])

    # The inference key cannot touch providers, nor create agents.
    repoint = stack.api("PATCH", "/api/providers/openai", {"base_url": "https://attacker.example"}, token=inference_key)
    assert repoint.status_code == 403, repoint.text
    assert stack.api("POST", "/api/agents", {"name": "x", "agent_type": "x"}, token=inference_key).status_code == 403
    assert stack.api("PATCH", "/api/providers/openai", {"base_url": "https://attacker.example"},
                     token=operator_key).status_code == 403

    # Another tenant's key sees nothing of it: not the job, not the agent, not through /v1.
    assert stack.api("GET", f"/api/jobs/{job_id}", token=other_key).status_code == 404
    assert stack.api("POST", f"/api/jobs/{job_id}/cancel", {}, token=other_key).status_code == 404
    assert job_id not in [job["id"] for job in stack.api("GET", "/api/jobs?limit=200", token=other_key).json()["jobs"]]
    foreign = OpenAI(base_url=stack.registry_url + "/v1", api_key=other_key, max_retries=0, timeout=60)
    assert "agent:writer" not in [m.id for m in foreign.models.list()]
    with pytest.raises(openai.NotFoundError):
        foreign.chat.completions.create(model="agent:writer", messages=[{"role": "user", "content": "x"}])

    # The job and its usage carry the tenant in SQL.
    assert stack.sql("""
        SELECT t.name FROM llm_jobs j JOIN tenants t ON t.id = j.tenant_id WHERE j.id = %s
        """, (job_id,)) == [(team,)]

    # Revoked: the SDK gets 401 (within a second on every registry).
    key_id = stack.sql("SELECT id::text FROM api_keys WHERE name = 'app' AND tenant_id = "
                       "(SELECT id FROM tenants WHERE name = %s)", (team,))[0][0]
    assert cli(stack, "keys", "revoke", key_id).returncode == 0
    # A lookup is reused for at most a second (the Swift test pins that with a moved clock); here
    # the bound only keeps a broken revocation from hanging the run.
    deadline = time.monotonic() + 20
    while True:
        try:
            client.models.list()
        except openai.AuthenticationError:
            break
        assert time.monotonic() < deadline, "the revoked key still worked after 20 s"
        time.sleep(0.05)


def test_the_cli_refuses_unknown_tenants_and_roles(stack):
    assert "no tenant named" in cli(stack, "keys", "create", "--tenant", "nobody", "--role", "viewer").stderr
    assert "--role must be one of" in cli(stack, "keys", "create", "--role", "root").stderr
    assert "in the past" in cli(stack, "keys", "create", "--role", "viewer", "--expires", "2020-01-01T00:00:00Z").stderr


def test_open_mode_answers_loopback_host_names_only():
    with Stack.start(token=None) as open_stack:
        port = int(open_stack.registry_url.rsplit(":", 1)[1])

        def status(host: str, origin: str | None = None) -> int:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Host": host}
            if origin:
                headers["Origin"] = origin
            connection.request("GET", "/api/providers", headers=headers)
            code = connection.getresponse().status
            connection.close()
            return code

        assert status(f"127.0.0.1:{port}") == 200
        assert status(f"localhost:{port}") == 200
        # DNS rebinding: the attacker's page keeps its own name as Host.
        assert status(f"rebind.evil.example:{port}") == 421
        assert status(f"127.0.0.1:{port}", origin="http://evil.example") == 421
