"""The OpenAI wire format, checked with the official openai client."""
import json
import socket
import urllib.request

import pytest

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def test_non_streaming_answer_headers_and_ledger(stack):
    raw = stack.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    r = raw.parse()
    assert r.choices[0].message.content == "slm says: hello there lorem lorem lorem lorem lorem"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens == 8
    assert raw.headers["x-tandem-model"] == "local-slm"
    assert "default" in raw.headers["x-tandem-route"]
    assert float(raw.headers["x-tandem-cost-usd"]) > 0
    assert int(raw.headers["x-tandem-overhead-us"]) >= 0
    rows = stack.wait_rows(1)  # the store trails the journal by up to 50 ms
    assert len(rows) == 1
    row = rows[0]
    assert row["request_id"] == raw.headers["x-request-id"]
    assert row["model"] == "local-slm" and row["tier"] == "slm" and row["requested_model"] == "auto"
    assert row["completion_tokens"] == 8 and row["usage_estimated"] == 0
    assert row["cost_usd"] == pytest.approx((r.usage.prompt_tokens * 0.02 + 8 * 0.04) / 1e6)
    assert row["baseline_usd"] == pytest.approx((r.usage.prompt_tokens * 2.5 + 8 * 10) / 1e6)
    assert row["http_status"] == 200 and row["status"] == "ok"


def test_streaming_with_and_without_usage(stack):
    c = stack.client()
    chunks = list(c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "one two three"}],
                                            stream=True, stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "slm says: one two three lorem lorem lorem lorem"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"

    chunks = list(c.chat.completions.create(model="auto", messages=[{"role": "user", "content": "one two"}],
                                            stream=True))
    assert all(ch.usage is None for ch in chunks)  # not asked for: the upstream's usage chunk is not passed on
    rows = stack.wait_rows(2)
    assert rows[1]["stream"] == 1 and rows[1]["completion_tokens"] == 8 and rows[1]["usage_estimated"] == 0
    assert rows[1]["ttft_us"] > 0


def test_stream_trailers_carry_cost_and_overhead(stack):
    body = json.dumps({"model": "auto", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    s = socket.create_connection(("127.0.0.1", stack.port))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    text = data.decode()
    assert "Transfer-Encoding: chunked" in text and "Trailer: x-tandem-cost-usd, x-tandem-overhead-us" in text
    assert "data: [DONE]" in text
    tail = text.split("data: [DONE]")[1]
    assert "x-tandem-cost-usd: " in tail and "x-tandem-overhead-us: " in tail


@pytest.mark.parametrize("model", ["local-slm", "cloud-gpt", "cloud-claude"])
def test_tool_calls_both_ways(stack, model):
    c = stack.client()
    r = c.chat.completions.create(model=model, messages=[{"role": "user", "content": "Paris"}], tools=TOOLS,
                                  tool_choice="auto")
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"
    # streamed tool-call deltas reassemble to the same call
    args, name, ids = "", None, set()
    for ch in c.chat.completions.create(model=model, messages=[{"role": "user", "content": "Paris"}], tools=TOOLS,
                                        stream=True):
        if ch.choices and ch.choices[0].delta.tool_calls:
            tc = ch.choices[0].delta.tool_calls[0]
            name = name or tc.function.name
            args += tc.function.arguments or ""
            if tc.id:
                ids.add(tc.id)
    assert name == "get_weather" and json.loads(args) == {"city": "Paris"} and len(ids) == 1
    # the tool result goes back up, and the model answers from it
    r2 = c.chat.completions.create(model=model, tools=TOOLS, messages=[
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"}])
    assert "tool said 18C and sunny" in r2.choices[0].message.content


def test_parameters_reach_the_upstream_verbatim(stack):
    stack.client().chat.completions.create(
        model="local-slm", messages=[{"role": "user", "content": "x"}], temperature=0.3, top_p=0.9, stop=["END"],
        seed=42, user="alice", metadata={"team": "a"}, max_completion_tokens=64,
        response_format={"type": "json_object"})
    sent = json.loads(stack.slm.stats()["bodies"][-1])
    assert sent["model"] == "smollm2-135m"  # the configured upstream id
    for k, v in {"temperature": 0.3, "top_p": 0.9, "stop": ["END"], "seed": 42, "user": "alice",
                 "metadata": {"team": "a"}, "max_completion_tokens": 64,
                 "response_format": {"type": "json_object"}}.items():
        assert sent[k] == v, k


def test_models_health_ready_metrics(stack):
    ids = [m.id for m in stack.client().models.list().data]
    assert ids[:1] == ["auto"] and {"fast", "smart", "local-slm", "cloud-gpt", "cloud-claude"} <= set(ids)
    assert json.loads(urllib.request.urlopen(stack.url + "/health").read())["status"] == "ok"
    ready = json.loads(urllib.request.urlopen(stack.url + "/ready").read())
    assert ready["status"] == "ready" and ready["slm_tier"] and ready["llm_tier"]
    stack.client().chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    stack.client().chat.completions.create(model="auto", messages=[{"role": "user", "content": "write python code"}])
    metrics = urllib.request.urlopen(stack.url + "/metrics").read().decode()
    assert 'tandem_requests_total{model="local-slm",tier="slm",status="200"} 1' in metrics
    assert 'tandem_requests_total{model="cloud-gpt",tier="llm",status="200"} 1' in metrics
    assert 'tandem_route_decisions_total{model="cloud-gpt",tier="llm",rule="code-and-math"} 1' in metrics
    assert "tandem_llm_share 0.5" in metrics
    for name in ["tandem_request_duration_seconds_bucket", "tandem_gateway_overhead_seconds_bucket",
                 "tandem_tokens_total", "tandem_cost_usd_total", "tandem_baseline_cost_usd_total"]:
        assert name in metrics


def test_routing_by_rules_aliases_and_header(stack):
    c = stack.client()

    def served(**kw):
        raw = c.chat.completions.with_raw_response.create(**kw)
        return raw.headers["x-tandem-model"], raw.headers["x-tandem-route"]

    assert served(model="auto", messages=[{"role": "user", "content": "Solve 3x + 5 = 20 for x"}])[0] == "cloud-gpt"
    assert served(model="auto", messages=[{"role": "user", "content": "word " * 2000}])[1].startswith("rule long")
    assert served(model="smart", messages=[{"role": "user", "content": "hi"}])[0] == "cloud-gpt"
    assert served(model="fast", messages=[{"role": "user", "content": "write python code"}])[0] == "local-slm"
    model, why = served(model="auto", messages=[{"role": "user", "content": "hi"}],
                        extra_headers={"x-tandem-tier": "llm"})
    assert model == "cloud-gpt" and "header" in why
