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
