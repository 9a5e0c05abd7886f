"""Every shape /v1 answers in the OpenAI format, validated against OpenAI's official OpenAPI
schemas (tests/integration/data/openai-response-schemas.json): completions, stream chunks,
responses, models and errors, from real calls through the queue to provider-stub."""

import pytest
import requests

from v1_support import openai_schema_errors, sse_data, unique


@pytest.fixture(scope="module")
def models(stack):
    names = {}
    for kind in ("ok", "no-usage", "refusal", "tool"):
        names[kind] = unique(f"stub-oai-{kind}")
        stack.add_model(names[kind], provider="openai")
    return names


def post(stack, path, body, **headers):
    return requests.post(stack.registry_url + path, json=body, timeout=60,
                         headers={"Authorization": f"Bearer {stack.token}", **headers})


def assert_valid(name, document):
    errors = openai_schema_errors(name, document)
    assert not errors, f"{name}: {errors[:5]}\n{document}"


@pytest.mark.parametrize("kind", ["ok", "no-usage", "refusal", "tool"])
def test_chat_completions_validate(stack, models, kind):
    body = {"model": models[kind], "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    if kind == "tool":
        body["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    reply = post(stack, "/v1/chat/completions", body)
    assert reply.status_code == 200, reply.text
    assert_valid("CreateChatCompletionResponse", reply.json())
    streamed = post(stack, "/v1/chat/completions", {**body, "stream": True, "stream_options": {"include_usage": True}})
    assert streamed.status_code == 200, streamed.text
    chunks = sse_data(streamed.text)
    assert chunks
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)


@pytest.mark.parametrize("kind", ["ok", "refusal", "tool"])
def test_responses_validate(stack, models, kind):
    body = {"model": models[kind], "input": "Weather in Paris?"}
    if kind == "tool":
        body["tools"] = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    reply = post(stack, "/v1/responses", body)
    assert reply.status_code == 200, reply.text
    assert_valid("Response", reply.json())
    streamed = post(stack, "/v1/responses", {**body, "stream": True})
    assert streamed.status_code == 200, streamed.text
    events = sse_data(streamed.text)
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        assert_valid("ResponseStreamEvent", event)


def test_models_validate(stack, models):
    listed = requests.get(stack.registry_url + "/v1/models", headers={"Authorization": f"Bearer {stack.token}"}, timeout=30)
    assert_valid("ListModelsResponse", listed.json())
    one = requests.get(stack.registry_url + f"/v1/models/{models['ok']}", headers={"Authorization": f"Bearer {stack.token}"}, timeout=30)
    assert_valid("Model", one.json())


def test_errors_validate(stack, models):
    key = unique("schema-conflict")
    post(stack, "/v1/chat/completions", {"model": models["ok"], "messages": [{"role": "user", "content": "a"}]}, **{"Idempotency-Key": key})
    cases = [
        post(stack, "/v1/chat/completions", {"model": "agent:nobody-here", "messages": [{"role": "user", "content": "x"}]}),
        post(stack, "/v1/chat/completions", {"model": models["ok"], "messages": [], "frobnicate": 1}),
        post(stack, "/v1/responses", {"model": models["ok"], "input": "x", "background": True}),
        post(stack, "/v1/chat/completions", {"model": models["ok"], "messages": [{"role": "user", "content": "b"}]}, **{"Idempotency-Key": key}),
        requests.post(stack.registry_url + "/v1/chat/completions", json={}, headers={"Authorization": "Bearer wrong"}, timeout=30),
    ]
    assert [reply.status_code for reply in cases] == [404, 400, 400, 409, 401]
    for reply in cases:
        assert_valid("ErrorResponse", reply.json())
