"""Live streaming through the queue (issue 24): the official SDKs' stream helpers against
provider-stub streaming at 20 ms per token, through model-registry's /v1 and the worker's push.
No assertion reads a clock: "before the answer is complete" is checked as "the job is still
running and the stub is still writing the stream" at the moment the first delta arrives."""

import json
import os
import signal
import time

import anthropic
import openai
import pytest
import requests
from anthropic import Anthropic
from openai import OpenAI

from fault_servers import TcpProxy
from stack import Stack, free_port
from v1_support import unique, wait_for_job_of, wait_for_status

WORDS = " ".join(f"word{index}" for index in range(30))


def openai_client(stack) -> OpenAI:
    return OpenAI(base_url=stack.registry_url + "/v1", api_key=stack.token, max_retries=0, timeout=60)


def anthropic_client(stack) -> Anthropic:
    return Anthropic(base_url=stack.registry_url, api_key=stack.token, max_retries=0, timeout=60)


def stub_stats(stack) -> dict:
    return requests.get(stack.stub_url + "/stats", timeout=10).json()


def wait_for(condition, seconds: float = 15, interval: float = 0.02):
    """Polls `condition` until it returns something truthy; `seconds` is only a failure timeout."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def job_row(stack, job_id: int):
    return stack.sql("SELECT status, attempt, error::text, result::text FROM llm_jobs WHERE id = %s", (job_id,))[0]


@pytest.fixture(scope="module")
def streams():
    """A stack of its own: short stream deadlines and keep-alive, so the fault tests wait on
    conditions rather than on the 30 s / 20 s / 15 s defaults."""
    with Stack.start(gateway_env={"GATEWAY_STREAM_FIRST_TOKEN_SECONDS": "1", "GATEWAY_STREAM_STALL_SECONDS": "1"},
                     registry_env={"SWITCHBOARD_STREAM_KEEPALIVE_SECONDS": "0.2"}) as running:
        yield running


def agent(stack, provider: str, directives: str, fallbacks: list[tuple[str, str]] | None = None, **config) -> str:
    model = unique(f"stub-{directives}")
    stack.add_model(model, provider=provider)
    fallback_ids = []
    for fallback_provider, fallback_directives in fallbacks or []:
        fallback = unique(f"stub-{fallback_directives}")
        stack.add_model(fallback, provider=fallback_provider)
        fallback_ids.append(fallback)
    name = unique("streamer")
    stack.create_agent(name, model, fallbacks=fallback_ids or None, max_tokens=400, **config)
    return name


def agent_id_of(stack, name: str) -> str:
    return stack.sql("SELECT id::text FROM agents WHERE name = %s", (name,))[0][0]


def test_openai_first_chunk_arrives_while_the_answer_is_generated(streams):
    name = agent(streams, "openai", "pace-20ms")
    seen_running = None
    deltas = []
    with openai_client(streams).chat.completions.stream(
            model=f"agent:{name}", messages=[{"role": "user", "content": WORDS}],
            stream_options={"include_usage": True}) as stream:
        for event in stream:
            if event.type == "content.delta":
                if seen_running is None:
                    job_id = wait_for_job_of(streams, agent_id_of(streams, name))
                    # The first delta is here while the stub still writes and the job still runs.
                    seen_running = (job_row(streams, job_id)[0], stub_stats(streams)["streams_in_flight"])
                deltas.append(event.delta)
        final = stream.get_final_completion()
    assert seen_running == ("running", 1)
    assert len(deltas) > 10
    assert "".join(deltas) == f"Stub reply to: {WORDS}"
    assert final.choices[0].finish_reason == "stop"
    # Usage is the stream's own (the stub's exact count), in the last chunk as asked.
    expected_output = (len(f"Stub reply to: {WORDS}".encode()) + 3) // 4
    assert final.usage is not None and final.usage.completion_tokens == expected_output
    assert wait_for_status(streams, job_id, {"succeeded", "failed"}) == "succeeded"
    usage = streams.sql("SELECT output_tokens, outcome FROM model_usage WHERE job_id = %s", (job_id,))
    assert usage == [(expected_output, "success")]


def test_anthropic_first_chunk_arrives_while_the_answer_is_generated(streams):
    name = agent(streams, "anthropic", "pace-20ms")
    seen_running = None
    texts = []
    with anthropic_client(streams).messages.stream(
            model=f"agent:{name}", max_tokens=400, messages=[{"role": "user", "content": WORDS}]) as stream:
        for text in stream.text_stream:
            if seen_running is None:
                job_id = wait_for_job_of(streams, agent_id_of(streams, name))
                seen_running = (job_row(streams, job_id)[0], stub_stats(streams)["streams_in_flight"])
            texts.append(text)
        final = stream.get_final_message()
    assert seen_running == ("running", 1)
    assert len(texts) > 10
    assert "".join(texts) == f"Stub reply to: {WORDS}"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == (len(f"Stub reply to: {WORDS}".encode()) + 3) // 4


WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def test_openai_tool_call_deltas_reassemble(streams):
    # 50 ms a piece: the stream outlasts the worker's push connecting, also on a loaded machine;
    # at 5 ms a slow connect let the registry answer from the committed result in one delta.
    name = agent(streams, "openai", "pace-50ms")
    with openai_client(streams).chat.completions.stream(
            model=f"agent:{name}", messages=[{"role": "user", "content": "Weather in Paris? Use get_weather."}],
            tools=WEATHER) as stream:
        argument_deltas = [event for event in stream if event.type == "tool_calls.function.arguments.delta"]
        final = stream.get_final_completion()
    assert len(argument_deltas) > 1
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "stub-city"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_anthropic_tool_call_deltas_reassemble(streams):
    # 50 ms a piece: the stream outlasts the worker's push connecting, also on a loaded machine;
    # at 5 ms a slow connect let the registry answer from the committed result in one delta.
    name = agent(streams, "anthropic", "pace-50ms")
    tools = [{"name": "get_weather", "input_schema": WEATHER[0]["function"]["parameters"]}]
    with anthropic_client(streams).messages.stream(
            model=f"agent:{name}", max_tokens=400, tools=tools,
            messages=[{"role": "user", "content": "Weather in Paris? Use get_weather."}]) as stream:
        partial_json = [event for event in stream if event.type == "input_json"]
        final = stream.get_final_message()
    assert len(partial_json) > 1
    block = [block for block in final.content if block.type == "tool_use"][0]
    assert block.name == "get_weather" and block.input == {"city": "stub-city"}
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize("primary", ["errorevent-0", "firsttoken-5s", "error-503"])
def test_failover_before_the_first_token_is_invisible(streams, primary):
    """An error event before any content, a first token later than the deadline (1 s here) or a
    non-200: the next model answers and the client sees one clean stream."""
    name = agent(streams, "openai", primary, fallbacks=[("anthropic", "pace-5ms")])
    with openai_client(streams).chat.completions.stream(
            model=f"agent:{name}", messages=[{"role": "user", "content": "fall over"}]) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
        final = stream.get_final_completion()
    assert text == "Stub reply to: fall over"
    job_id = wait_for_job_of(streams, agent_id_of(streams, name))
    # The model that answered is the fallback, named in the stream's chunks.
    assert final.model.startswith("stub-pace-5ms")
    assert wait_for_status(streams, job_id, {"succeeded", "failed"}) == "succeeded"
    outcomes = [row[0] for row in streams.sql(
        "SELECT outcome FROM model_usage WHERE job_id = %s ORDER BY started_at", (job_id,))]
    assert outcomes[-1] == "success" and "error" in outcomes[:-1]


def test_an_agents_first_token_deadline_replaces_the_gateways(streams):
    """The gateway's first-token deadline is 1 s here; an agent that allows 5 s keeps its primary,
    whose first token comes after 2 s, where the gateway's default fails over (the test above)."""
    name = agent(streams, "openai", "firsttoken-2s", fallbacks=[("anthropic", "pace-5ms")],
                 stream_first_token_seconds=5)
    with openai_client(streams).chat.completions.stream(
            model=f"agent:{name}", messages=[{"role": "user", "content": "take your time"}]) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
        final = stream.get_final_completion()
    assert text == "Stub reply to: take your time"
    assert final.model.startswith("stub-firsttoken-2s")
    job_id = wait_for_job_of(streams, agent_id_of(streams, name))
    assert wait_for_status(streams, job_id, {"succeeded", "failed"}) == "succeeded"
    assert [row[0] for row in streams.sql("SELECT outcome FROM model_usage WHERE job_id = %s", (job_id,))] == ["success"]


def test_an_agents_stall_deadline_replaces_the_gateways(streams):
    """1.5 s between tokens: past the gateway's 1 s stall deadline, inside the agent's 4 s."""
    patient = agent(streams, "openai", "pace-1500ms", stream_stall_seconds=4)
    hasty = agent(streams, "openai", "pace-1500ms")
    with openai_client(streams).chat.completions.stream(
            model=f"agent:{patient}", messages=[{"role": "user", "content": "slowly"}]) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
    assert text == "Stub reply to: slowly"
    response = requests.post(
        streams.registry_url + "/v1/chat/completions", stream=True, timeout=60,
        headers={"Authorization": f"Bearer {streams.token}"},
        json={"model": f"agent:{hasty}", "stream": True, "messages": [{"role": "user", "content": "slowly"}]})
    chunks = [json.loads(line[6:]) for line in response.iter_lines(decode_unicode=True)
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert chunks[-1]["error"]["code"] == "stream_interrupted"


@pytest.mark.parametrize("field", ["stream_first_token_seconds", "stream_stall_seconds"])
@pytest.mark.parametrize("value", [0, -1, 301, "20"])
def test_stream_deadlines_out_of_range_are_refused(streams, field, value):
    model = unique("stub-pace-5ms")
    streams.add_model(model, provider="openai")
    agent_id = streams.create_agent(unique("deadline"), model)
    reply = streams.api("PUT", f"/api/agents/{agent_id}/model-config", {"model_id": model, field: value})
    assert reply.status_code == 400, reply.text
    assert field in reply.text
    # Nothing was stored: the agent keeps its configuration without the key.
    stored = streams.api("GET", f"/api/agents/{agent_id}/model-config").json()["model_config"]
    assert field not in stored


FAULTS = ["cut-3", "stall-3", "errorevent-3", "garble-3"]


@pytest.mark.parametrize("fault", FAULTS)
def test_openai_fault_after_the_first_token_ends_with_an_error_chunk(streams, fault):
    """No silent failover once the client has text: an error object chunk, no finish_reason, no
    [DONE]; the job fails stream_interrupted with the partial text."""
    name = agent(streams, "openai", fault, fallbacks=[("anthropic", "pace-5ms")])
    response = requests.post(
        streams.registry_url + "/v1/chat/completions", stream=True, timeout=60,
        headers={"Authorization": f"Bearer {streams.token}"},
        json={"model": f"agent:{name}", "stream": True, "messages": [{"role": "user", "content": "hello there friend"}]})
    assert response.status_code == 200
    events = [line[len("data: "):] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert "[DONE]" not in events
    chunks = [json.loads(event) for event in events]
    assert "error" in chunks[-1] and chunks[-1]["error"]["code"] == "stream_interrupted"
    text = "".join(choice["delta"].get("content") or "" for chunk in chunks[:-1] for choice in chunk["choices"])
    assert text == "Stub reply to:"
    assert all(choice["finish_reason"] is None for chunk in chunks[:-1] for choice in chunk["choices"])
    job_id = int(response.headers["x-switchboard-job-id"])
    assert wait_for_status(streams, job_id, {"succeeded", "failed"}) == "failed"
    error = json.loads(job_row(streams, job_id)[2])
    assert error["code"] == "stream_interrupted"
    assert error["partial"]["content"] == "Stub reply to:"
    # No closing usage chunk arrived: the tokens are an estimate, and the bill unknown.
    assert error["partial"]["tokens_estimated"] is True
    assert error["partial"]["output_tokens"] == (len("Stub reply to:") + 3) // 4
    # The fallback was never called; the one call's usage row says its bill is unknown.
    assert streams.sql("SELECT outcome, error_class, billed_unknown, output_tokens FROM model_usage WHERE job_id = %s",
                       (job_id,)) == [("error", "stream_interrupted", True, None)]

    # And the SDK raises instead of returning a truncated answer as complete.
    with pytest.raises(openai.APIError):
        with openai_client(streams).chat.completions.stream(
                model=f"agent:{name}", messages=[{"role": "user", "content": "hello there friend"}]) as stream:
            for _ in stream:
                pass


@pytest.mark.parametrize("fault", FAULTS)
def test_anthropic_fault_after_the_first_token_ends_with_an_error_event(streams, fault):
    name = agent(streams, "anthropic", fault, fallbacks=[("openai", "pace-5ms")])
    texts = []
    with pytest.raises(anthropic.APIError):
        with anthropic_client(streams).messages.stream(
                model=f"agent:{name}", max_tokens=100, messages=[{"role": "user", "content": "hello there friend"}]) as stream:
            for text in stream.text_stream:
                texts.append(text)
    assert "".join(texts) == "Stub reply to:"
    job_id = wait_for_job_of(streams, streams.sql("SELECT id::text FROM agents WHERE name = %s", (name,))[0][0])
    assert wait_for_status(streams, job_id, {"succeeded", "failed"}) == "failed"
    error = json.loads(job_row(streams, job_id)[2])
    assert error["code"] == "stream_interrupted" and error["partial"]["content"] == "Stub reply to:"
    # Anthropic's message_start gave the input count; the output is estimated.
    assert error["partial"]["input_tokens"] > 0 and error["partial"]["tokens_estimated"] is True


def test_keep_alive_comments_while_the_model_has_not_started(streams):
    name = agent(streams, "openai", "firsttoken-600ms")
    response = requests.post(
        streams.registry_url + "/v1/chat/completions", stream=True, timeout=60,
        headers={"Authorization": f"Bearer {streams.token}"},
        json={"model": f"agent:{name}", "stream": True, "messages": [{"role": "user", "content": "wait"}]})
    assert response.status_code == 200
    lines = list(response.iter_lines(decode_unicode=True))
    assert ": keep-alive" in lines
    assert lines.index(": keep-alive") < next(index for index, line in enumerate(lines) if line.startswith("data: "))
    assert "data: [DONE]" in lines


def test_client_disconnect_stops_the_provider_stream(streams):
    name = agent(streams, "openai", "pace-20ms")
    agent_id = streams.sql("SELECT id::text FROM agents WHERE name = %s", (name,))[0][0]
    long_prompt = " ".join(["talk"] * 400)
    response = requests.post(
        streams.registry_url + "/v1/chat/completions", stream=True, timeout=60,
        headers={"Authorization": f"Bearer {streams.token}"},
        json={"model": f"agent:{name}", "stream": True, "messages": [{"role": "user", "content": long_prompt}]})
    lines = response.iter_lines(decode_unicode=True)
    assert next(line for line in lines if line.startswith("data: "))
    assert stub_stats(streams)["streams_in_flight"] == 1
    response.close()
    closed = time.monotonic()
    # The stub's stream ends within a second of the client hanging up (polled, not slept).
    assert wait_for(lambda: stub_stats(streams)["streams_in_flight"] == 0, seconds=1)
    assert time.monotonic() - closed <= 1.5
    job_id = wait_for_job_of(streams, agent_id)
    assert wait_for_status(streams, job_id, {"cancelled", "succeeded", "failed"}) == "cancelled"


def test_disconnect_with_an_idempotency_key_lets_the_job_complete(streams):
    name = agent(streams, "openai", "pace-10ms")
    agent_id = streams.sql("SELECT id::text FROM agents WHERE name = %s", (name,))[0][0]
    response = requests.post(
        streams.registry_url + "/v1/chat/completions", stream=True, timeout=60,
        headers={"Authorization": f"Bearer {streams.token}", "Idempotency-Key": unique("stream-key")},
        json={"model": f"agent:{name}", "stream": True, "messages": [{"role": "user", "content": WORDS}]})
    assert next(line for line in response.iter_lines(decode_unicode=True) if line.startswith("data: "))
    response.close()
    job_id = wait_for_job_of(streams, agent_id)
    assert wait_for_status(streams, job_id, {"cancelled", "succeeded", "failed"}) == "succeeded"
    result = json.loads(job_row(streams, job_id)[3])
    assert result["content"] == f"Stub reply to: {WORDS}"


def test_a_worker_killed_mid_stream_ends_the_stream_with_an_error_event():
    """kill -9 of the worker while it streams: the client's stream ends with an error event (never
    a clean end); the job is rescued by the other worker and completes, without pushing a second
    answer to the client."""
    with Stack.start(gateway_args=["--lease-seconds", "2", "--allow-short-lease"]) as stack:
        name = agent(stack, "openai", "pace-50ms")
        response = requests.post(
            stack.registry_url + "/v1/chat/completions", stream=True, timeout=60,
            headers={"Authorization": f"Bearer {stack.token}"},
            json={"model": f"agent:{name}", "stream": True, "messages": [{"role": "user", "content": WORDS}]})
        assert response.status_code == 200
        job_id = int(response.headers["x-switchboard-job-id"])
        lines = response.iter_lines(decode_unicode=True)
        first = next(line for line in lines if line.startswith("data: "))
        rescuer = stack.spawn_gateway("rescuer", ["--lease-seconds", "2", "--allow-short-lease"])
        assert rescuer.process.poll() is None
        os.kill(stack.services["llm-gateway"].process.pid, signal.SIGKILL)
        events = [first[len("data: "):]] + [line[len("data: "):] for line in lines if line.startswith("data: ")]
        assert "[DONE]" not in events
        last = json.loads(events[-1])
        assert last.get("error", {}).get("code") == "stream_interrupted", events[-3:]
        streamed = "".join(choice["delta"].get("content") or ""
                           for event in events[:-1] for choice in json.loads(event)["choices"])
        assert f"Stub reply to: {WORDS}".startswith(streamed)
        # The rescued attempt finishes the job; the client got nothing of it.
        assert wait_for_status(stack, job_id, {"succeeded", "failed"}, seconds=60) == "succeeded", stack.logs()
        assert job_row(stack, job_id)[1] == 2
        assert stack.sql("SELECT count(*) FROM llm_job_streams WHERE job_id = %s", (job_id,)) == [(0,)]


def test_a_broken_push_is_completed_from_the_committed_result():
    """The link between worker and registry breaks mid-answer while the worker carries on: the
    client's stream is completed from the job's result (delayed, not lost) and ends cleanly."""
    proxy = TcpProxy("127.0.0.1", 1)
    try:
        with Stack.start(registry_env={"SWITCHBOARD_STREAM_CALLBACK_URL": f"http://127.0.0.1:{proxy.port}"}) as stack:
            proxy.target = ("127.0.0.1", int(stack.registry_url.rsplit(":", 1)[1]))
            name = agent(stack, "openai", "pace-50ms")
            with openai_client(stack).chat.completions.stream(
                    model=f"agent:{name}", messages=[{"role": "user", "content": WORDS}]) as stream:
                texts = []
                for event in stream:
                    if event.type == "content.delta":
                        if not texts:
                            assert proxy.cut() == 1  # the push's one connection
                        texts.append(event.delta)
                final = stream.get_final_completion()
            assert "".join(texts) == f"Stub reply to: {WORDS}"
            assert final.choices[0].finish_reason == "stop"
            job_id = wait_for_job_of(stack, agent_id_of(stack, name))
            assert job_row(stack, job_id)[:2] == ("succeeded", 1)
    finally:
        proxy.stop()


def test_two_registries_and_two_workers_each_stream_reaches_its_client():
    # One job at a time per worker: six concurrent streams must use both.
    with Stack.start(gateway_args=["--concurrency", "1"]) as stack:
        stack.spawn_gateway("second", ["--concurrency", "1"])
        port = free_port()
        second = stack._spawn("model-registry-2", ["serve", "--port", str(port), "--host", "127.0.0.1"],
                              {"SWITCHBOARD_ADMIN_TOKEN": stack.token}, executable="model-registry")
        second_url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: second.process.poll() is None and _ready(second_url), seconds=60), second.tail()
        name = agent(stack, "openai", "pace-10ms")
        clients = [OpenAI(base_url=url + "/v1", api_key=stack.token, max_retries=0, timeout=60)
                   for url in (stack.registry_url, second_url)] * 3
        import concurrent.futures

        def run(index_and_client):
            index, client = index_and_client
            prompt = f"client {index} " + " ".join(f"w{index}x{n}" for n in range(8))
            with client.chat.completions.stream(model=f"agent:{name}", messages=[{"role": "user", "content": prompt}]) as stream:
                text = "".join(event.delta for event in stream if event.type == "content.delta")
            return prompt, text

        with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
            results = list(pool.map(run, enumerate(clients)))
        for prompt, text in results:
            assert text == f"Stub reply to: {prompt}"
        workers = stack.sql("""SELECT count(DISTINCT worker_id) FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id
                               JOIN agents a ON a.id = j.agent_id WHERE a.name = %s""", (name,))
        assert workers[0][0] == 2


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
