"""Helpers shared by the SDK tests of the /v1 endpoints (test_openai_sdk.py, test_anthropic_sdk.py)."""

import time
import uuid


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def job_status(stack, job_id: int) -> str:
    return stack.sql("SELECT status FROM llm_jobs WHERE id = %s", (job_id,))[0][0]


def wait_for_status(stack, job_id: int, statuses: set[str], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    status = job_status(stack, job_id)
    while status not in statuses and time.monotonic() < deadline:
        time.sleep(0.1)
        status = job_status(stack, job_id)
    return status


def wait_for_job_of(stack, agent_id: str, seconds: float = 10) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = stack.sql("SELECT id FROM llm_jobs WHERE agent_id = %s ORDER BY id DESC LIMIT 1", (agent_id,))
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    return None


# The official OpenAI response schemas (scripts/extract-openai-schemas.py wrote them from
# openai/openai-openapi; nothing is downloaded at test time).
_OPENAI_SCHEMAS = None


def openai_schema_errors(name: str, document) -> list[str]:
    """Why `document` does not validate against the official OpenAI schema `name` (empty: it does)."""
    import json
    import pathlib

    import jsonschema

    global _OPENAI_SCHEMAS
    if _OPENAI_SCHEMAS is None:
        path = pathlib.Path(__file__).parent / "data" / "openai-response-schemas.json"
        _OPENAI_SCHEMAS = _honour_nullable(json.loads(path.read_text()))
    schema = {"$ref": f"#/components/schemas/{name}", "components": _OPENAI_SCHEMAS["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def _honour_nullable(node):
    """The document is OpenAPI 3.1 but still marks many members OpenAPI 3.0's way, `nullable: true`,
    which JSON Schema ignores: as JSON Schema, such a member also takes null."""
    if isinstance(node, list):
        return [_honour_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _honour_nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


def sse_data(text: str) -> list:
    """The JSON `data:` payloads of an SSE body (without `[DONE]`)."""
    import json

    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
