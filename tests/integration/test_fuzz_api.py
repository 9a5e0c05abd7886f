"""API fuzzing (docs/development.md "Fault tests"): schemathesis generates requests, valid and invalid, for every
operation `/openapi.json` lists, against a real `model-registry serve` on a database of its own
(fuzzing creates and changes agents, models, providers and jobs). Each response must be no 5xx,
have a status code the operation documents, the documented content type, and a body that
conforms to the documented schema. Bounded: FUZZ_EXAMPLES examples per operation (default 15).

Random ids name nothing, so every example of an operation with path parameters (or a body naming
an agent) is sent a second time aimed at rows seeded beforehand: an agent, a job, an execution,
a model, a provider, a tenant and a rate limit (on an agent of its own). Both answers are checked."""

from __future__ import annotations

import copy
import os
import re

import pytest
import schemathesis
from schemathesis.core import NOT_SET
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stack import Stack

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED_MODEL = "stub-fuzz-seed"


@pytest.fixture(scope="module")
def fuzzed_stack():
    # The stack's worker runs whatever jobs the fuzzer manages to enqueue, against provider-stub.
    with Stack.start() as running:
        yield running


@pytest.fixture(scope="module")
def seeded(fuzzed_stack):
    """Rows for the fuzzer's second shot at each operation, by path parameter."""
    stack = fuzzed_stack
    stack.add_model(SEED_MODEL)
    agent = stack.create_agent("fuzz-seed", SEED_MODEL)
    message = {"role": "user", "content": "seed"}
    job = stack.api("POST", "/api/jobs", {"agent_id": agent, "messages": [message]}).json()["id"]
    execution = stack.api("POST", "/api/executions", {
        "workflow_name": "fuzz-seed", "steps": [{"step": "one", "agent_id": agent, "messages": [message]}]}).json()["id"]
    # Rate limits, budgets and tenant caps go on rows of their own: a generated limit of 1 request
    # per minute on the seeded agent or tenant would turn the rest of the run's jobs into 429s.
    target = stack.create_agent("fuzz-limit-target", SEED_MODEL)
    tenant = stack.api("POST", "/api/tenants", {"name": "fuzz-seed-tenant"}).json()["id"]
    limit = stack.api("POST", "/api/rate-limits", {"scope": "agent", "scope_id": target,
                                                   "requests_per_minute": 1000}).json()["id"]
    return {"agents": agent, "jobs": str(job), "executions": execution, "model_id": SEED_MODEL, "name": "openai",
            "agent_id": agent, "tenants": tenant, "rate-limits": limit, "scope_id": target}


@pytest.fixture(scope="module")
def api_schema(fuzzed_stack):
    return schemathesis.openapi.from_url(fuzzed_stack.registry_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")

NUMBER = re.compile(r"^\d+(\.\d*)?$")
# Status codes seen per operation, so the last test can tell the fuzzer got past authentication
# and input validation (a run answered 401 or 400 throughout would prove nothing).
SEEN: dict[str, set[int]] = {}


def aimed_at_seeds(case, seeds: dict[str, str]) -> bool:
    """Points the case's path parameters and body agent ids at seeded rows; False when it has none."""
    changed = False
    if case.path_parameters:
        for name in list(case.path_parameters):
            key = name if name in ("model_id", "name") else case.path.split("/")[2]
            if key in seeds:
                case.path_parameters[name] = seeds[key]
                changed = True
    bodies = []
    if isinstance(case.body, dict):
        bodies.append(case.body)
        for nested in ("steps", "jobs"):
            if isinstance(case.body.get(nested), list):
                bodies.extend(item for item in case.body[nested] if isinstance(item, dict))
    for body in bodies:
        if "agent_id" in body:
            body["agent_id"] = seeds["agent_id"]
            changed = True
        if case.path == "/api/rate-limits" and "scope_id" in body and "scope" in body:
            body["scope"], body["scope_id"] = "agent", seeds["scope_id"]
            changed = True
    return changed


def send(case, stack: Stack) -> None:
    headers = stack.headers()
    if case.body is NOT_SET and case.method.upper() in ("POST", "PUT", "PATCH"):
        # As the API asks of every client (documented 415): OpenAPI cannot declare it for
        # operations without a body, so the generated requests would never reach those handlers.
        headers["Content-Type"] = "application/json"
    response = case.call(base_url=stack.registry_url, headers=headers, timeout=30)
    if case.method.upper() == case.operation.method.upper():  # not one of the wrong-method probes
        SEEN.setdefault(case.operation.label, set()).add(response.status_code)
    case.validate_response(response, checks=CHECKS, headers=stack.headers())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, fuzzed_stack, seeded):
    # A long-poll on a job that never finishes would hold each example up to 60 s; a short wait
    # exercises the same code.
    if case.query and isinstance(case.query.get("wait"), (int, float, str)) and NUMBER.match(str(case.query["wait"])):
        case.query["wait"] = "0.2"
    send(case, fuzzed_stack)
    # Not for the wrong-method probes (their aimed copy would look like a regular request), nor
    # for DELETE: deleting the seeded agent would leave the other examples nothing to aim at.
    if case.method.upper() == case.operation.method.upper() != "DELETE":
        parts = {"body": copy.deepcopy(case.body)} if case.body is not NOT_SET else {}
        aimed = case.operation.Case(
            method=case.method, path_parameters=copy.deepcopy(case.path_parameters),
            headers=copy.deepcopy(dict(case.headers or {})), cookies=copy.deepcopy(case.cookies),
            query=copy.deepcopy(case.query), media_type=case.media_type, **parts)
        if aimed_at_seeds(aimed, seeded):
            send(aimed, fuzzed_stack)


def test_fuzzing_reached_the_handlers():
    """At least two thirds of the operations answered a generated request with a 2xx. (Not all:
    the schemas do not declare every input rule the API enforces, e.g. non-empty names and
    messages, so many generated "valid" bodies are refused with a documented 400.)"""
    assert SEEN, "no operation was fuzzed"
    missed = {operation: sorted(codes) for operation, codes in SEEN.items() if not any(200 <= c < 300 for c in codes)}
    assert len(missed) <= len(SEEN) // 3, f"operations that never answered 2xx: {missed}"
