"""Bad input and failing upstreams: clear OpenAI-style errors with the right status, and nothing lost."""
import json
import os
import socket
import time
import urllib.error
import urllib.request

import openai
import pytest


def post(url, body: bytes, headers=None):
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def msg(text="hi", model="auto", **kw):
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **kw}).encode()


def test_bad_requests(stack):
    status, body = post(stack.url, b'{"model": "auto", "messages": [')
    assert status == 400 and "malformed JSON" in body["error"]["message"]
    assert body["error"]["type"] == "invalid_request_error"
    status, body = post(stack.url, b'{"model": "auto"}')
    assert status == 400 and "messages" in body["error"]["message"]
    status, body = post(stack.url, json.dumps({"model": "auto", "messages": [{"role": "user"}]}).encode())
    assert status == 400 and "messages[0].content" in body["error"]["message"]
    status, body = post(stack.url, msg(temperature=9))
    assert status == 400 and "temperature" in body["error"]["message"]
    status, body = post(stack.url, msg(model="no-such-model"))
    assert status == 404 and "no-such-model" in body["error"]["message"]
    status, body = post(stack.url, msg("x" * 70000))
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert stack.slm.stats()["requests"] == 0 and stack.cloud.stats()["requests"] == 0
    rows = stack.wait_rows(5)  # refused requests are in the ledger too (413 is refused before it is read)
    assert sorted(r["http_status"] for r in rows) == [400, 400, 400, 400, 404]
    assert {r["status"] for r in rows} == {"invalid_request", "not_found"}
    assert all(r["tier"] == "" and r["cost_usd"] == 0 for r in rows)


def test_unknown_routes_and_methods(stack):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(stack.url + "/v1/nothing")
    assert e.value.code == 404 and "error" in json.loads(e.value.read())
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(stack.url + "/v1/chat/completions")
    assert e.value.code == 400


def test_client_keys(make_stack):
    stack = make_stack(keys={"team-a": "tk-aaaa", "team-b": "tk-bbbb"})
    with pytest.raises(openai.AuthenticationError):
        stack.client(key="wrong").chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}])
    status, _ = post(stack.url, msg())
    assert status == 401
    r = stack.client(key="tk-bbbb").chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content
    rows = stack.wait_rows(3)
    assert [r["http_status"] for r in rows] == [401, 401, 200]  # refused attempts are recorded too
    assert rows[-1]["key_id"] == "team-b"
    assert "tk-bbbb" not in json.dumps(rows)


def test_garbage_never_crashes_the_server(stack):
    junk = [b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST /v1/chat/completions HTTP/1.1\r\n"
            b"Content-Length: 5\r\n\r\n\xff\xfe\xfd\xfc\xfb", b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"]
    junk += [os.urandom(n) for n in (1, 100, 5000)]
    for j in junk:
        s = socket.create_connection(("127.0.0.1", stack.port))
        s.sendall(j)
        s.settimeout(2)
        try:
            s.recv(4096)
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
    for body in [b"null", b"[]", b"1e999", b'{"model":1e400,"messages":[]}', b'{"model":"auto","messages":[{"role":"user","content":[{"type":"text"}]}]}',
                 '{"model":"auto","messages":[{"role":"user","content":"\ud800"}]}'.encode("utf-8", "surrogatepass")]:
        status, _ = post(stack.url, body)
        assert status == 400, body
    assert stack.proc.poll() is None
    assert stack.client().chat.completions.create(model="auto", messages=[{"role": "user", "content": "ok"}])


def test_retries_429_then_succeeds(stack):
    stack.cloud.control(script=[{"status": 429}, {"status": 503}])
    raw = stack.client().chat.completions.with_raw_response.create(
        model="cloud-gpt", messages=[{"role": "user", "content": "hello"}])
    assert raw.parse().choices[0].message.content.startswith("cloud says")
    assert stack.cloud.stats()["requests"] == 3
    row = stack.wait_rows(1)[-1]
    assert row["attempts"] == 3 and row["status"] == "ok" and "failover" in row["reasons"]


def test_falls_back_to_the_next_model(stack):
    stack.cloud.control(script=[{"status": 500}] * 3)  # cloud-gpt's three tries; cloud-claude answers
    raw = stack.client().chat.completions.with_raw_response.create(
        model="cloud-gpt", messages=[{"role": "user", "content": "hello"}])
    assert raw.headers["x-tandem-model"] == "cloud-claude"
    assert raw.parse().choices[0].message.content.startswith("cloud says")


def test_every_upstream_failed_carries_the_last_error(stack):
    stack.slm.control(script=[{"status": 500}, {"status": 500}])
    stack.cloud.control(script=[{"status": 502}] * 3 + [{"status": 529}])
    with pytest.raises(openai.APIStatusError) as e:
        stack.client().chat.completions.create(model="auto", messages=[{"role": "user", "content": "hello"}])
    assert e.value.status_code in (502, 503)
    assert "cloud-claude" in e.value.message and "529" in e.value.message
    row = stack.wait_rows(1)[-1]
    assert row["http_status"] == e.value.status_code and row["attempts"] == 6


def test_upstream_400_is_not_retried(stack):
    stack.slm.control(script=[{"status": 400}])
    with pytest.raises(openai.BadRequestError):
        stack.client().chat.completions.create(model="local-slm", messages=[{"role": "user", "content": "hello"}])
    assert stack.slm.stats()["requests"] == 1


def test_hanging_upstream_times_out_with_504(make_stack):
    stack = make_stack(first_token_ms=300, slm_fallbacks="")
    stack.slm.control(script=[{"hang": True}, {"hang": True}])
    t = time.time()
    with pytest.raises(openai.APIStatusError) as e:  # a stream: the first-token timeout applies
        stack.client().chat.completions.create(model="local-slm", stream=True,
                                               messages=[{"role": "user", "content": "hello"}])
    assert e.value.status_code == 504 and "timed out" in e.value.message
    assert time.time() - t < 5


def test_upstream_dies_mid_stream(make_stack):
    stack = make_stack(slm_fallbacks="")
    stack.slm.control(script=[{"disconnect_after": 3}])
    got = []
    with pytest.raises(openai.APIError):
        for ch in stack.client().chat.completions.create(model="local-slm", stream=True,
                                                         messages=[{"role": "user", "content": "a b c d e f"}]):
            got.append(ch)
    assert len(got) == 3  # what arrived before the cut reached the client, then a clear error
    row = stack.wait_rows(1)[-1]
    assert row["status"] == "upstream_failed" and row["stream"] == 1


def test_connection_refused_falls_back(make_stack):
    stack = make_stack()
    stack.slm.stop()
    r = stack.client().chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert r.headers["x-tandem-model"] == "cloud-gpt"  # the SLM is down and the prompt is not private


def test_client_disconnect_cancels_the_upstream(make_stack):
    stack = make_stack(slm_fallbacks="")
    stack.slm.control(chunk_delay_ms=200, words=100)  # a 20-second answer
    body = msg("hello", model="local-slm", stream=True)
    s = socket.create_connection(("127.0.0.1", stack.port))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while b"data: " not in got:
        got += s.recv(65536)
    s.close()
    rows = stack.wait_rows(1, timeout=3)
    assert rows and rows[-1]["status"] == "client_cancelled" and rows[-1]["http_status"] == 499
    metrics = urllib.request.urlopen(stack.url + "/metrics").read().decode()
    assert "tandem_in_flight_requests 0" in metrics


def test_circuit_breaker_opens_and_skips_the_failing_model(stack):
    stack.slm.control(script=[{"status": 500}] * 6)  # local-slm: 2 tries per request, breaker opens at 5
    c = stack.client()
    for _ in range(3):
        raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-tandem-model"] == "cloud-gpt"  # failed over
    ready = json.loads(urllib.request.urlopen(stack.url + "/ready").read())
    assert {m["name"]: m["breaker"] for m in ready["models"]}["local-slm"] == "open"
    seen = stack.slm.stats()["requests"]
    raw = c.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-tandem-model"] == "cloud-gpt"
    assert stack.slm.stats()["requests"] == seen  # skipped while open: no request reached it


def test_stream_bytes_reach_the_client_as_they_come(stack):
    stack.slm.control(chunk_delay_ms=150, words=10)  # about 1.5 s in all
    t0 = time.time()
    stamps = []
    for ch in stack.client().chat.completions.create(model="local-slm", stream=True,
                                                     messages=[{"role": "user", "content": "x"}]):
        if ch.choices and ch.choices[0].delta.content:
            stamps.append(time.time() - t0)
    assert len(stamps) == 10
    assert stamps[0] < 0.5 and stamps[-1] > 1.2  # the first word long before the last: nothing was buffered
    assert all(b - a > 0.05 for a, b in zip(stamps, stamps[1:]))
