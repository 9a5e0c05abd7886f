"""docker/ without a Docker engine: the compose file through Debian's `docker-compose` (v1.29, which
knows profiles and every depends_on condition used here) and the Dockerfile through
scripts/check-dockerfile.py, each with cases that must fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
CHECKER = ROOT / "scripts" / "check-dockerfile.py"
REQUIRED = {"POSTGRES_PASSWORD": "pw-for-config-test", "SWITCHBOARD_ADMIN_TOKEN": "token-for-config-test-32-characters",
            "GRAFANA_ADMIN_PASSWORD": "grafana-pw-for-config-test", "SWITCHBOARD_DB_PASSWORD": "service-pw-for-config-test"}


def compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is not installed (scripts/install-deps.sh installs it)")
        pytest.skip("docker-compose is not installed (scripts/install-deps.sh installs it)")
    return binary


def compose(compose_file: Path, env: dict[str, str], *arguments: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`docker-compose config …` with exactly `env` as the variables (an env file of ours, so a
    developer's docker/.env or shell cannot change the outcome)."""
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith(("GRAFANA_", "GATEWAY_"))}
    return subprocess.run([compose_binary(), "--env-file", str(env_file), "-f", str(compose_file), *arguments],
                          capture_output=True, text=True, env=clean, timeout=120)


_rendered: dict[tuple[str, ...], dict] = {}


def rendered(tmp_path: Path, *profiles: str) -> dict:
    """The compose file as `docker-compose config` resolves it (cached: v1 takes seconds per call)."""
    if profiles not in _rendered:
        arguments = [a for p in profiles for a in ("--profile", p)] + ["config"]
        result = compose(COMPOSE, REQUIRED, *arguments, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        _rendered[profiles] = yaml.safe_load(result.stdout)
    return _rendered[profiles]


# -- docker-compose.yml ------------------------------------------------------------------------------

def test_compose_file_is_valid(tmp_path):
    result = compose(COMPOSE, REQUIRED, "config", "-q", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_compose_refuses_to_start_without_a_required_variable(tmp_path, missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    result = compose(COMPOSE, env, "config", "-q", tmp_path=tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


def test_validation_rejects_a_broken_compose_file(tmp_path):
    """The validator is not a rubber stamp: an unknown depends_on condition and an unknown key fail."""
    text = COMPOSE.read_text()
    for broken in (text.replace("service_completed_successfully", "service_finished", 1),
                   text.replace("    profiles: [\"demo\"]", "    profiles: [\"demo\"]\n    scale_me: 4", 1)):
        assert broken != text
        copy = DOCKER / f".test-broken-{os.getpid()}.yml"  # beside the original: same relative paths
        copy.write_text(broken)
        try:
            result = compose(copy, REQUIRED, "config", "-q", tmp_path=tmp_path)
        finally:
            copy.unlink()
        assert result.returncode != 0, broken


def test_services_wait_for_migrate_which_waits_for_a_healthy_postgres(tmp_path):
    services = rendered(tmp_path)["services"]
    assert services["migrate"]["command"][:2] == ["model-registry", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("model-registry", "llm-gateway"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_postgres_has_a_named_volume_a_healthcheck_and_the_queue_settings(tmp_path):
    config = rendered(tmp_path)
    postgres = config["services"]["postgres"]
    assert "postgres-data" in config["volumes"]
    assert any(v.startswith("postgres-data:/var/lib/postgresql/data") for v in postgres["volumes"])
    assert any(v.endswith(":/docker-entrypoint-initdb.d:ro") and "postgres/initdb.d" in v for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    command = " ".join(postgres["command"])
    for setting in ("autovacuum_naptime=1s", "autovacuum_work_mem=", "idle_in_transaction_session_timeout=",
                    "max_connections="):
        assert setting in command


def test_only_the_migrator_logs_in_as_the_schema_owner(tmp_path):
    """Review finding P2-9: migrate runs as the owner and creates the services' NOSUPERUSER role
    (migrations/0025, ServiceRoleTests); registry and gateway log in as that role."""
    services = rendered(tmp_path)["services"]
    migrate = services["migrate"]
    assert migrate["command"][:4] == ["model-registry", "migrate", "--service-role", "switchboard_app"]
    assert "user=switchboard " in migrate["environment"]["DATABASE_URL"] + " "
    assert migrate["environment"]["SWITCHBOARD_SERVICE_DB_PASSWORD"] == REQUIRED["SWITCHBOARD_DB_PASSWORD"]
    for name in ("model-registry", "llm-gateway"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].endswith("user=switchboard_app"), name
        assert environment["PGPASSWORD"] == REQUIRED["SWITCHBOARD_DB_PASSWORD"], name
        assert environment["PGPASSWORD"] != REQUIRED["POSTGRES_PASSWORD"], name


def test_registry_publishes_its_port_checks_readyz_and_gets_the_token(tmp_path):
    registry = rendered(tmp_path)["services"]["model-registry"]
    assert registry["environment"]["SWITCHBOARD_ADMIN_TOKEN"] == REQUIRED["SWITCHBOARD_ADMIN_TOKEN"]
    assert any(str(p).startswith("127.0.0.1:8080:8080") for p in registry["ports"])
    assert "/readyz" in " ".join(registry["healthcheck"]["test"])


def test_gateway_can_be_scaled(tmp_path):
    gateway = rendered(tmp_path)["services"]["llm-gateway"]
    assert "container_name" not in gateway
    assert "ports" not in gateway  # expose only: replicas never clash on a host port
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])


def test_demo_and_dashboards_profiles(tmp_path):
    services = rendered(tmp_path, "demo", "dashboards")["services"]
    assert services["provider-stub"]["profiles"] == ["demo"]
    grafana = services["grafana"]
    assert grafana["profiles"] == ["dashboards"]
    assert grafana["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    volumes = grafana["volumes"]
    assert any(v.endswith("docker/grafana/provisioning:/etc/grafana/provisioning:ro") for v in volumes)
    assert any(v.endswith("docker/grafana/dashboards:/var/lib/grafana/dashboards:ro") for v in volumes)
    for name in ("postgres", "model-registry", "llm-gateway", "migrate"):
        assert "profiles" not in services[name]


def test_grafana_has_no_default_admin_password(tmp_path):
    """Review finding P3-a: Grafana's admin password comes only from GRAFANA_ADMIN_PASSWORD (compose
    refuses to start without it, see test_compose_refuses_to_start_without_a_required_variable)."""
    grafana = rendered(tmp_path, "dashboards")["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == REQUIRED["GRAFANA_ADMIN_PASSWORD"]
    assert "GRAFANA_ADMIN_PASSWORD=admin" not in (DOCKER / ".env.example").read_text()


def test_services_run_with_least_privilege(tmp_path):
    """Review finding P3-b: no capabilities and no privilege escalation for Switchboard's services
    and Grafana, a pids limit everywhere; postgres keeps its capabilities (its entrypoint chowns
    the data directory as root before dropping to the postgres user)."""
    services = rendered(tmp_path, "demo", "dashboards")["services"]
    for name in ("migrate", "model-registry", "llm-gateway", "provider-stub", "grafana"):
        assert services[name].get("cap_drop") == ["ALL"], name
    for name, service in services.items():
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert 0 < int(service.get("pids_limit", 0)) <= 4096, name
        assert "privileged" not in service and "cap_add" not in service, name


def test_third_party_images_are_pinned(tmp_path):
    services = rendered(tmp_path, "demo", "dashboards")["services"]
    for name in ("postgres", "grafana"):
        image = services[name]["image"]
        tag = image.rpartition(":")[2]
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_env_example_documents_every_variable_of_the_compose_file():
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (DOCKER / ".env.example").read_text(), re.MULTILINE))
    assert used - documented == set(), "undocumented in docker/.env.example"
    assert documented - used == set(), "documented but not used by docker-compose.yml"


# -- Dockerfile ----------------------------------------------------------------------------------------

def run_checker(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), str(path)], capture_output=True, text=True, timeout=60)


def test_dockerfile_passes_the_check():
    result = run_checker(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_all_three_executables_with_migrations_on_a_slim_runtime():
    text = DOCKERFILE.read_text()
    for executable in ("model-registry", "llm-gateway", "provider-stub"):
        assert executable in text
    assert "COPY migrations" in text
    runtime = text[text.rindex("\nFROM "):]
    for package in ("libpq5", "libcurl4", "ca-certificates"):
        assert package in runtime
    assert re.search(r"^FROM swift:6\.\d+\.\d+-bookworm AS build", text, re.MULTILINE)
    assert re.search(r"^FROM debian:12\.\d+-slim", text, re.MULTILINE)


def test_copy_sources_exist_and_are_not_docker_ignored():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for source in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(), re.MULTILINE):
        assert (ROOT / source).exists(), source
        assert source not in ignored and source.split("/")[0] not in ignored, source
    for excluded in (".build", ".git", "docker/.env"):
        assert excluded in ignored


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


NEGATIVE_CASES = {
    "no USER": (lambda t: re.sub(r"^USER .*$", "", t, flags=re.MULTILINE), "no USER"),
    "USER root": (lambda t: re.sub(r"^USER .*$", "USER root", t, flags=re.MULTILINE), "as root"),
    "USER 0:0": (lambda t: re.sub(r"^USER .*$", "USER 0:0", t, flags=re.MULTILINE), "as root"),
    "no HEALTHCHECK": (lambda t: re.sub(r"^HEALTHCHECK (.*\\\n)*.*$", "", t, flags=re.MULTILINE), "no HEALTHCHECK"),
    "HEALTHCHECK NONE": (lambda t: re.sub(r"^HEALTHCHECK (.*\\\n)*.*$", "HEALTHCHECK NONE", t, flags=re.MULTILINE), "no HEALTHCHECK"),
    "latest": (lambda t: re.sub(r"^FROM debian:\S+", "FROM debian:latest", t, flags=re.MULTILINE), "latest"),
    "no tag": (lambda t: re.sub(r"^FROM swift:\S+", "FROM swift", t, flags=re.MULTILINE), "no tag"),
    "moving tag": (lambda t: re.sub(r"^FROM debian:\S+", "FROM debian:bookworm-slim", t, flags=re.MULTILINE), "moves"),
    "unpinned ARG image": (lambda t: "ARG BASE=debian:bookworm\n" + re.sub(r"^FROM debian:\S+", "FROM $BASE", t, flags=re.MULTILINE), "moves"),
    "ENV key": (lambda t: t + "\nENV OPENAI_API_KEY=placeholder\n", "ENV OPENAI_API_KEY"),
    "ENV token, legacy form": (lambda t: t + "\nENV SWITCHBOARD_API_TOKEN abc\n", "ENV SWITCHBOARD_API_TOKEN"),
    "ARG password": (lambda t: t + "\nARG POSTGRES_PASSWORD\n", "ARG POSTGRES_PASSWORD"),
    "secret literal": (lambda t: t + "\nRUN echo sk-ant-abcdefghijklmnopqrstuv > /tmp/k\n", "secret value"),
    "COPY .env": (lambda t: t + "\nCOPY docker/.env /app/.env\n", "env file"),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE_CASES))
def test_dockerfile_check_fails(tmp_path, case):
    change, expected = NEGATIVE_CASES[case]
    original = DOCKERFILE.read_text()
    broken = change(original)
    assert broken != original
    path = tmp_path / "Dockerfile"
    path.write_text(broken)
    result = run_checker(path)
    assert result.returncode == 1, result.stdout
    assert expected in result.stdout, result.stdout


def test_pinned_by_digest_passes(tmp_path):
    digest = "sha256:" + "0" * 64
    text = re.sub(r"^FROM debian:\S+", f"FROM debian@{digest}", DOCKERFILE.read_text(), flags=re.MULTILINE)
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    assert run_checker(path).returncode == 0
