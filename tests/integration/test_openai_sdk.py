"""The official `openai` package against /v1/chat/completions: every call is a job run by the real
llm-gateway against provider-stub."""

import json
import socket
import urllib.parse

import openai
import pytest
import requests
from openai import OpenAI

from v1_support import unique, wait_for_job_of, wait_for_status


def client(stack, key=None) -> OpenAI:
    return OpenAI(base_url=stack.registry_url + "/v1", api_key=key or stack.token, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def planner(stack):
    model = unique("stub-oai-ok")
    stack.add_model(model, provider="openai")
    name = unique("planner")
    agent_id = stack.create_agent(name, model, max_tokens=200)
    return {"name": name, "id": agent_id, "model": model}


def test_plain_completion(stack, planner):
    raw = client(stack).chat.completions.with_raw_response.create(
        model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "Say hello"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "Stub reply to: Say hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == planner["model"]
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    job_id = int(raw.headers["x-switchboard-job-id"])
    assert raw.headers["x-switchboard-fallback-depth"] == "0"
    assert raw.headers["x-switchboard-cost"] != "unknown"
    # The job went through the queue and the usage accounting like any other.
    job = stack.api("GET", f"/api/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["agent_id"] == planner["id"]
    assert stack.sql("SELECT model_id, outcome FROM model_usage WHERE job_id = %s", (job_id,)) == [(planner["model"], "success")]


def test_agent_by_uuid_and_plain_model_id(stack, planner):
    by_id = client(stack).chat.completions.create(model=f"agent:{planner['id']}", messages=[{"role": "user", "content": "a"}])
    assert by_id.model == planner["model"]
    direct_model = unique("stub-oai-direct")
    stack.add_model(direct_model, provider="openai")
    raw = client(stack).chat.completions.with_raw_response.create(model=direct_model, messages=[{"role": "user", "content": "b"}])
    assert raw.parse().model == direct_model
    request = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()["request"]
    assert request["model"] == direct_model


def test_tools_round_trip(stack, planner):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    sdk = client(stack)
    first = sdk.chat.completions.create(model=f"agent:{planner['name']}", messages=messages, tools=tools, tool_choice="required")
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    json.loads(call.function.arguments)
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"})
    second = sdk.chat.completions.create(model=f"agent:{planner['name']}", messages=messages, tools=tools)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content


def test_fallback_to_the_other_provider_is_visible(stack):
    primary, fallback = unique("stub-error-500-oai"), unique("stub-ant-fallback")
    stack.add_model(primary, provider="openai")
    stack.add_model(fallback, provider="anthropic")
    name = unique("fallback")
    stack.create_agent(name, primary, [fallback])
    raw = client(stack).chat.completions.with_raw_response.create(model=f"agent:{name}", messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().model == fallback
    assert raw.headers["x-switchboard-fallback-depth"] == "1"
    assert raw.headers["x-switchboard-provider"] == "anthropic"
    job_id = int(raw.headers["x-switchboard-job-id"])
    outcomes = stack.sql("SELECT model_id, outcome FROM model_usage WHERE job_id = %s ORDER BY started_at", (job_id,))
    assert outcomes[0] == (primary, "error") and outcomes[-1] == (fallback, "success")


def test_streaming_with_the_stream_helper(stack, planner):
    with client(stack).chat.completions.stream(
            model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "Stream me"}],
            stream_options={"include_usage": True}) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Stub reply to: Stream me"
    assert final.choices[0].message.content == "Stub reply to: Stream me"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens > 0


def test_streaming_tool_calls(stack, planner):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
    chunks = list(client(stack).chat.completions.create(
        model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "lookup cats"}], tools=tools,
        tool_choice={"type": "function", "function": {"name": "lookup"}}, stream=True))
    calls = [call for chunk in chunks for choice in chunk.choices for call in (choice.delta.tool_calls or [])]
    assert calls and calls[0].function.name == "lookup"
    assert [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason] == ["tool_calls"]


def test_unknown_agent_is_not_found(stack):
    with pytest.raises(openai.NotFoundError) as raised:
        client(stack).chat.completions.create(model="agent:" + unique("nobody"), messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client(stack).chat.completions.create(model=unique("no-such-model"), messages=[{"role": "user", "content": "x"}])


def test_wrong_key_is_an_authentication_error(stack, planner):
    with pytest.raises(openai.AuthenticationError):
        client(stack, key="wrong-key").chat.completions.create(
            model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "x"}])


def test_bad_request_is_a_bad_request_error(stack, planner):
    with pytest.raises(openai.BadRequestError) as raised:
        client(stack).chat.completions.create(
            model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "x"}], temperature=7)
    assert raised.value.param == "temperature"


def test_idempotency_key_reuse_returns_the_same_job(stack, planner):
    key = unique("idem")
    sdk = client(stack)
    arguments = dict(model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "only once"}],
                     extra_headers={"Idempotency-Key": key})
    first = sdk.chat.completions.with_raw_response.create(**arguments)
    second = sdk.chat.completions.with_raw_response.create(**arguments)
    assert first.headers["x-switchboard-job-id"] == second.headers["x-switchboard-job-id"]
    assert first.parse().choices[0].message.content == second.parse().choices[0].message.content
    assert stack.sql("SELECT count(*) FROM llm_jobs WHERE idempotency_key = %s", (key,)) == [(1,)]


def test_models_list(stack, planner):
    ids = [model.id for model in client(stack).models.list()]
    assert f"agent:{planner['name']}" in ids
    assert planner["model"] in ids


def test_client_disconnect_cancels_the_job(stack):
    model = unique("stub-latency-20s-oai")
    stack.add_model(model, provider="openai")
    name = unique("slow")
    agent_id = stack.create_agent(name, model)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(stack.registry_url + "/v1/chat/completions", timeout=(5, 1.5),
                      headers={"Authorization": f"Bearer {stack.token}"},
                      json={"model": f"agent:{name}", "messages": [{"role": "user", "content": "slow"}]})
    job_id = wait_for_job_of(stack, agent_id)
    assert job_id is not None
    assert wait_for_status(stack, job_id, {"cancelled", "succeeded", "failed"}, seconds=15) == "cancelled", stack.logs()


def test_disconnect_while_queued_cancels_at_once(stack):
    """A raw socket that sends the request and closes: the queued-or-running job ends cancelled."""
    model = unique("stub-latency-20s-raw")
    stack.add_model(model, provider="openai")
    name = unique("raw")
    agent_id = stack.create_agent(name, model)
    body = json.dumps({"model": f"agent:{name}", "messages": [{"role": "user", "content": "bye"}]}).encode()
    address = urllib.parse.urlsplit(stack.registry_url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {stack.token}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        job_id = wait_for_job_of(stack, agent_id)
    assert job_id is not None
    assert wait_for_status(stack, job_id, {"cancelled", "succeeded", "failed"}, seconds=15) == "cancelled", stack.logs()


def test_disconnect_with_an_idempotency_key_keeps_the_job(stack):
    """The caller may come back with the same key for the answer: its job is not cancelled."""
    model = unique("stub-latency-3s-keep")
    stack.add_model(model, provider="openai")
    name = unique("keep")
    agent_id = stack.create_agent(name, model)
    key = unique("keep-key")
    body = {"model": f"agent:{name}", "messages": [{"role": "user", "content": "come back"}]}
    headers = {"Authorization": f"Bearer {stack.token}", "Idempotency-Key": key}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(stack.registry_url + "/v1/chat/completions", timeout=(5, 1), headers=headers, json=body)
    job_id = wait_for_job_of(stack, agent_id)
    assert job_id is not None
    # The retry with the same key waits for the same job and gets its answer.
    retry = requests.post(stack.registry_url + "/v1/chat/completions", timeout=60, headers=headers, json=body)
    assert retry.status_code == 200, retry.text
    assert retry.headers["x-switchboard-job-id"] == str(job_id)
    assert retry.json()["choices"][0]["message"]["content"] == "Stub reply to: come back"


def test_answers_leave_out_null_fingerprint_and_usage(stack, planner):
    # The official schema allows neither `system_fingerprint: null` nor `usage: null`.
    silent = unique("stub-oai-no-usage")
    stack.add_model(silent, provider="openai")
    raw = requests.post(stack.registry_url + "/v1/chat/completions", headers={"Authorization": f"Bearer {stack.token}"},
                        json={"model": silent, "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert "system_fingerprint" not in body and "usage" not in body
    assert raw.headers["x-switchboard-attempts"] == "1"


def test_parse_returns_a_refusal(stack):
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str

    refusing = unique("stub-oai-refusal")
    stack.add_model(refusing, provider="openai")
    # `.parse()` raises on finish_reason content_filter; a refusal must come back as OpenAI sends it.
    completion = client(stack).chat.completions.parse(
        model=refusing, messages=[{"role": "user", "content": "Weather in Paris?"}], response_format=Weather)
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "stop"
    assert message.refusal and message.parsed is None and message.content is None


def test_idempotency_conflict_is_not_retried(stack, planner):
    key = unique("conflict")
    sdk = OpenAI(base_url=stack.registry_url + "/v1", api_key=stack.token, max_retries=2, timeout=60)
    sdk.chat.completions.create(model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "one"}],
                                extra_headers={"Idempotency-Key": key})
    before = stack.sql("SELECT count(*) FROM llm_jobs WHERE idempotency_key = %s", (key,))[0][0]
    with pytest.raises(openai.ConflictError) as raised:
        sdk.chat.completions.create(model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "two"}],
                                    extra_headers={"Idempotency-Key": key})
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert stack.sql("SELECT count(*) FROM llm_jobs WHERE idempotency_key = %s", (key,))[0][0] == before == 1


def test_models_retrieve(stack, planner):
    sdk = client(stack)
    for model_id in (f"agent:{planner['name']}", planner["model"]):
        model = sdk.models.retrieve(model_id)
        assert model.id == model_id and model.object == "model"
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.models.retrieve("agent:nobody-here")
    assert raised.value.body["code"] == "model_not_found"


def test_reasoning_effort_and_new_parameters_reach_the_job(stack, planner):
    raw = client(stack).chat.completions.with_raw_response.create(
        model=f"agent:{planner['name']}", messages=[{"role": "user", "content": "hi"}], top_p=0,
        reasoning_effort="low", verbosity="low", safety_identifier="user-7", prompt_cache_key="tenant-a")
    assert raw.parse().choices[0].message.content == "Stub reply to: hi"
    request = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()["request"]
    assert request["reasoning"] == {"effort": "low"} and request["user"] == "user-7" and request["top_p"] == 0
    # The stub model is no reasoning model: what could not be sent is said, not silently lost.
    warnings = raw.headers["x-switchboard-warnings"]
    assert "reasoning is not supported" in warnings and "verbosity is not supported" in warnings


RESPONSES_WEATHER = {
    "type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
}


def test_responses_plain_and_instructions(stack, planner):
    raw = client(stack).responses.with_raw_response.create(
        model=f"agent:{planner['name']}", instructions="Be brief.", input="Say hello", max_output_tokens=50)
    response = raw.parse()
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == "Stub reply to: Say hello"
    assert response.id == f"resp_sb{raw.headers['x-switchboard-job-id']}"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    request = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()["request"]
    assert request["messages"][0] == {"role": "system", "content": "Be brief."}
    assert request["max_tokens"] == 50


def test_responses_tools_and_function_call_output(stack, planner):
    sdk = client(stack)
    first = sdk.responses.create(model=f"agent:{planner['name']}", input="What is the weather in Paris?",
                                 tools=[RESPONSES_WEATHER], tool_choice="required")
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather"
    json.loads(call.arguments)
    # The items returned, then the function's output, as the Agents SDK sends them.
    second = sdk.responses.create(
        model=f"agent:{planner['name']}", tools=[RESPONSES_WEATHER],
        input=[{"role": "user", "content": "What is the weather in Paris?"},
               {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id, "output": "18 C and sunny"}])
    assert second.output_text


def test_responses_previous_response_id_continues_the_conversation(stack, planner):
    sdk = client(stack)
    first = sdk.responses.create(model=f"agent:{planner['name']}", input="first question")
    second = sdk.responses.with_raw_response.create(
        model=f"agent:{planner['name']}", input="second question", previous_response_id=first.id)
    assert second.parse().output_text == "Stub reply to: second question"
    request = stack.api("GET", f"/api/jobs/{second.headers['x-switchboard-job-id']}").json()["request"]
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
    assert request["messages"][1]["content"] == first.output_text
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model=f"agent:{planner['name']}", input="x", previous_response_id="resp_sb999999999")


def test_responses_text_format(stack, planner):
    sdk = client(stack)
    raw = sdk.responses.with_raw_response.create(
        model=f"agent:{planner['name']}", input="Weather?", reasoning={"effort": "low"},
        text={"format": {"type": "json_schema", "name": "weather", "strict": True, "schema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}}})
    assert raw.parse().status == "completed"
    request = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()["request"]
    assert request["response_format"]["type"] == "json_schema" and request["response_format"]["json_schema"]["name"] == "weather"
    assert request["reasoning"] == {"effort": "low"}


def test_responses_streaming(stack, planner):
    sdk = client(stack)
    deltas = []
    with sdk.responses.stream(model=f"agent:{planner['name']}", input="Say hello") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Stub reply to: Say hello"
    assert final.status == "completed" and final.usage.output_tokens > 0
    # Tool calls stream as function_call items whose arguments arrive in pieces.
    events = list(sdk.responses.create(model=f"agent:{planner['name']}", input="Weather in Paris?", stream=True,
                                       tools=[RESPONSES_WEATHER], tool_choice="required"))
    done = next(event for event in events if event.type == "response.function_call_arguments.done")
    json.loads(done.arguments)
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output[0].type == "function_call" and completed.response.output[0].arguments == done.arguments
