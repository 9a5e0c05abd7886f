"""The harness itself: a job posted to the API is run by the real gateway against provider-stub."""

import uuid


def test_job_runs_through_the_stack(stack):
    stack.add_model("stub-it-smoke", provider="openai")
    agent = stack.create_agent("smoke-" + uuid.uuid4().hex[:6], "stub-it-smoke")
    reply = stack.api("POST", "/api/jobs", {"agent_id": agent, "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code in (200, 201, 202), reply.text
    job = reply.json()
    reply = stack.api("GET", f"/api/jobs/{job['id']}?wait=20")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "succeeded", (reply.json(), stack.logs())
    rows = stack.sql("SELECT model_id, outcome FROM model_usage WHERE job_id = %s", (job["id"],))
    assert rows == [("stub-it-smoke", "success")], rows


def test_api_requires_the_token(stack):
    assert stack.api("GET", "/api/models", token="wrong").status_code == 401
    assert stack.api("GET", "/api/models").status_code == 200
