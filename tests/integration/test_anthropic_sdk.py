"""The official `anthropic` package against /v1/messages: every call is a job run by the real
llm-gateway against provider-stub."""

import anthropic
import pytest
from anthropic import Anthropic

from v1_support import unique


def client(stack, key=None) -> Anthropic:
    return Anthropic(base_url=stack.registry_url, api_key=key or stack.token, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def writer(stack):
    model = unique("stub-ant-ok")
    stack.add_model(model, provider="anthropic", max_temperature=1)
    name = unique("writer")
    agent_id = stack.create_agent(name, model)
    return {"name": name, "id": agent_id, "model": model}


WEATHER = {
    "name": "get_weather", "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_plain_message(stack, writer):
    raw = client(stack).messages.with_raw_response.create(
        model=f"agent:{writer['name']}", max_tokens=100, system="Be brief.",
        messages=[{"role": "user", "content": "Say hello"}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text == "Stub reply to: Say hello"
    assert message.stop_reason == "end_turn"
    assert message.model == writer["model"]
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    job = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()
    assert job["status"] == "succeeded" and job["agent_id"] == writer["id"]
    assert raw.headers["x-switchboard-fallback-depth"] == "0"


def test_tools_round_trip(stack, writer):
    sdk = client(stack)
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = sdk.messages.create(model=f"agent:{writer['name']}", max_tokens=200, tools=[WEATHER],
                                tool_choice={"type": "tool", "name": "get_weather"}, messages=messages)
    assert first.stop_reason == "tool_use"
    use = next(block for block in first.content if block.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input, dict)
    messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18 C and sunny"}]})
    second = sdk.messages.create(model=f"agent:{writer['name']}", max_tokens=200, tools=[WEATHER], messages=messages)
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text" and second.content[0].text


def test_fallback_to_the_other_provider_is_visible(stack):
    primary, fallback = unique("stub-error-529-ant"), unique("stub-oai-fallback")
    stack.add_model(primary, provider="anthropic", max_temperature=1)
    stack.add_model(fallback, provider="openai")
    name = unique("fallback")
    stack.create_agent(name, primary, [fallback])
    raw = client(stack).messages.with_raw_response.create(
        model=f"agent:{name}", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().model == fallback
    assert raw.headers["x-switchboard-fallback-depth"] == "1"
    assert raw.headers["x-switchboard-provider"] == "openai"


def test_streaming_with_the_stream_helper(stack, writer):
    with client(stack).messages.stream(model=f"agent:{writer['name']}", max_tokens=100,
                                       messages=[{"role": "user", "content": "Stream me"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Stub reply to: Stream me"
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_streaming_a_tool_use_block(stack, writer):
    with client(stack).messages.stream(model=f"agent:{writer['name']}", max_tokens=100, tools=[WEATHER],
                                       tool_choice={"type": "any"},
                                       messages=[{"role": "user", "content": "Weather in Oslo?"}]) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert "input_json" in events
    use = next(block for block in final.content if block.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input, dict)
    assert final.stop_reason == "tool_use"


def test_unknown_agent_is_not_found(stack):
    with pytest.raises(anthropic.NotFoundError) as raised:
        client(stack).messages.create(model="agent:" + unique("nobody"), max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert raised.value.body["error"]["type"] == "not_found_error"


def test_wrong_key_is_an_authentication_error(stack, writer):
    with pytest.raises(anthropic.AuthenticationError):
        client(stack, key="wrong-key").messages.create(
            model=f"agent:{writer['name']}", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_idempotency_key_reuse_returns_the_same_job(stack, writer):
    key = unique("idem-ant")
    sdk = client(stack)
    arguments = dict(model=f"agent:{writer['name']}", max_tokens=20, messages=[{"role": "user", "content": "once"}],
                     extra_headers={"Idempotency-Key": key})
    first = sdk.messages.with_raw_response.create(**arguments)
    second = sdk.messages.with_raw_response.create(**arguments)
    assert first.headers["x-switchboard-job-id"] == second.headers["x-switchboard-job-id"]
    assert stack.sql("SELECT count(*) FROM llm_jobs WHERE idempotency_key = %s", (key,)) == [(1,)]


def test_models_list(stack, writer):
    ids = [model.id for model in client(stack).models.list()]
    assert f"agent:{writer['name']}" in ids


def test_stop_sequence_is_named(stack, writer):
    sdk = client(stack)
    request = dict(model=f"agent:{writer['name']}", max_tokens=100, stop_sequences=["to:"],
                   messages=[{"role": "user", "content": "Say hello"}])
    message = sdk.messages.create(**request)
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "to:"
    assert message.content[0].text == "Stub reply "
    with sdk.messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "to:"


def test_count_tokens(stack, writer):
    sdk = client(stack)
    short = sdk.messages.count_tokens(model=f"agent:{writer['name']}", messages=[{"role": "user", "content": "hi"}])
    long = sdk.messages.count_tokens(model=f"agent:{writer['name']}", system="word " * 400,
                                     messages=[{"role": "user", "content": "hi"}])
    assert short.input_tokens > 0 and long.input_tokens - short.input_tokens == 504
    with pytest.raises(anthropic.NotFoundError):
        sdk.messages.count_tokens(model="agent:nobody-here", messages=[{"role": "user", "content": "hi"}])


def test_thinking_top_k_documents_and_cache_control_are_accepted(stack):
    model = unique("stub-ant-ok")
    stack.add_model(model, provider="anthropic", max_temperature=1)
    raw = client(stack).messages.with_raw_response.create(
        model=model, max_tokens=3000, extra_body={"top_k": 20}, thinking={"type": "enabled", "budget_tokens": 1500},
        system=[{"type": "text", "text": "A long stable prefix.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}},
            {"type": "text", "text": "Summarise"}]}])
    message = raw.parse()
    assert message.content[0].type == "text"
    request = stack.api("GET", f"/api/jobs/{raw.headers['x-switchboard-job-id']}").json()["request"]
    assert request["reasoning"] == {"budget_tokens": 1500} and request["top_k"] == 20
    assert request["messages"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["messages"][1]["content"][0]["type"] == "file"


def test_cache_control_writes_then_reads_the_cache_priced_exactly(stack):
    from decimal import Decimal

    model = unique("stub-ant-ok")
    stack.add_model(model, provider="anthropic", max_temperature=1, input_per_1k="0.003", output_per_1k="0.015")
    stack.sql("UPDATE llm_models SET cached_input_cost_per_1k = 0.0003, cache_creation_input_cost_per_1k = 0.00375 WHERE model_id = %s",
              (model,))
    stable = "You are the release-notes writer. " * 60
    prefix_tokens = (len(stable.encode()) + 3) // 4  # the stub's estimate of the marked prefix
    request = dict(model=model, max_tokens=100, messages=[{"role": "user", "content": "Notes for 2.0"}],
                   system=[{"type": "text", "text": stable, "cache_control": {"type": "ephemeral"}}])
    sdk = client(stack)
    first = sdk.messages.with_raw_response.create(**request)
    second = sdk.messages.with_raw_response.create(**request)
    written, read = first.parse().usage, second.parse().usage
    assert written.cache_creation_input_tokens == prefix_tokens and written.cache_read_input_tokens == 0
    assert read.cache_read_input_tokens == prefix_tokens and read.cache_creation_input_tokens == 0
    assert read.input_tokens == written.input_tokens  # the uncached rest

    def expected_cost(usage) -> Decimal:
        return (usage.input_tokens * Decimal("0.003") + usage.cache_read_input_tokens * Decimal("0.0003")
                + usage.cache_creation_input_tokens * Decimal("0.00375") + usage.output_tokens * Decimal("0.015")) / 1000

    for raw, usage in ((first, written), (second, read)):
        assert Decimal(raw.headers["x-switchboard-cost"]) == expected_cost(usage)
        job_id = int(raw.headers["x-switchboard-job-id"])
        rows = stack.sql("SELECT cached_input_tokens, cache_creation_input_tokens, cost FROM model_usage WHERE job_id = %s", (job_id,))
        assert rows == [(usage.cache_read_input_tokens, usage.cache_creation_input_tokens, expected_cost(usage))]
