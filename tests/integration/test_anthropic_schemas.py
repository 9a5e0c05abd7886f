"""Every shape /v1/messages answers, validated against the `anthropic` package's own pydantic
types (strict model validation, not the SDK's lenient construction): messages, stream events,
token counts and errors."""

import pydantic
import pytest
import requests
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent

from v1_support import sse_data, unique

HEADERS = {"anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def models(stack):
    names = {}
    for kind in ("ok", "tool", "refusal"):
        names[kind] = unique(f"stub-ant-{kind}")
        stack.add_model(names[kind], provider="anthropic", max_temperature=1)
    return names


def post(stack, path, body):
    return requests.post(stack.registry_url + path, json=body, timeout=60, headers={"x-api-key": stack.token, **HEADERS})


@pytest.mark.parametrize("kind", ["ok", "tool", "refusal", "stop"])
def test_messages_and_events_validate(stack, models, kind):
    body = {"model": models["tool" if kind == "tool" else "refusal" if kind == "refusal" else "ok"], "max_tokens": 100,
            "messages": [{"role": "user", "content": "Say hello"}]}
    if kind == "tool":
        body["tools"] = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    if kind == "stop":
        body["stop_sequences"] = ["to:"]
    reply = post(stack, "/v1/messages", body)
    assert reply.status_code == 200, reply.text
    Message.model_validate(reply.json(), strict=False)
    events = sse_data(post(stack, "/v1/messages", {**body, "stream": True}).text)
    adapter = pydantic.TypeAdapter(RawMessageStreamEvent)
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    for event in events:
        adapter.validate_python(event)


def test_count_tokens_and_errors_validate(stack, models):
    count = post(stack, "/v1/messages/count_tokens", {"model": models["ok"], "messages": [{"role": "user", "content": "hi"}]})
    MessageTokensCount.model_validate(count.json())
    from anthropic.types import ErrorResponse
    for reply in (post(stack, "/v1/messages", {"model": "agent:nobody-here", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
                  post(stack, "/v1/messages", {"model": models["ok"], "messages": []})):
        assert reply.status_code in (400, 404)
        ErrorResponse.model_validate(reply.json())
