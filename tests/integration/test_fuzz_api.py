"""API fuzzing (README "Fault tests"): schemathesis generates requests, valid and invalid, for every
operation `/openapi.json` lists, against a real `model-registry serve` on a database of its own
(fuzzing creates and changes agents, models, providers and jobs). Each response must be no 5xx,
have a status code the operation documents, the documented content type, and a body that
conforms to the documented schema. Bounded: FUZZ_EXAMPLES examples per operation (default 15)."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
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


@pytest.fixture(scope="module")
def fuzzed_stack():
    # No gateway work is needed, but the stack's worker does no harm: jobs the fuzzer enqueues
    # run against provider-stub like any other.
    with Stack.start() as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzzed_stack):
    return schemathesis.openapi.from_url(fuzzed_stack.registry_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")

LONG_POLL = re.compile(r"^\d+(\.\d*)?$")
# Status codes seen per operation, so the last test can tell the fuzzer got past authentication
# and input validation (a run answered 401 or 400 throughout would prove nothing).
SEEN: dict[str, set[int]] = {}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, fuzzed_stack):
    # A long-poll on a job that never finishes would hold each example up to 60 s; a short wait
    # exercises the same code.
    if case.query and isinstance(case.query.get("wait"), (int, float, str)) and LONG_POLL.match(str(case.query["wait"])):
        case.query["wait"] = "0.2"
    response = case.call(base_url=fuzzed_stack.registry_url, headers=fuzzed_stack.headers(), timeout=30)
    if case.method.upper() == case.operation.method.upper():  # not one of the wrong-method probes
        SEEN.setdefault(case.operation.label, set()).add(response.status_code)
    case.validate_response(response, checks=CHECKS, headers=fuzzed_stack.headers())


def test_fuzzing_reached_the_handlers():
    """Most operations answered a generated request with a 2xx at least once."""
    assert SEEN, "no operation was fuzzed"
    succeeded = [operation for operation, codes in SEEN.items() if any(200 <= code < 300 for code in codes)]
    assert len(succeeded) >= len(SEEN) // 2, {operation: sorted(codes) for operation, codes in SEEN.items()}
