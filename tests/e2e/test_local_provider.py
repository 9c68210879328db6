"""`provider: local`: GGUF models served in-process behind the OpenAI API, driven by the official openai client.
Uses a tiny random llama-architecture model (fast, any machine) and, where downloaded, the real SmolLM2."""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import time
from pathlib import Path

import openai
import pytest

from conftest import Fake, _start

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/engine"))
import gguf_tools  # noqa: E402

SMOLLM = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
SANITIZED = "address" in os.environ.get("TANDEM_BUILD_PRESET", "")

CONFIG = """
server: {{listen: 127.0.0.1:0, workers: 2}}
ledger: {{path: {ledger}}}
models:
  - name: local
    provider: local
    gguf: {gguf}
    threads: 2
    context: {context}
    tier: slm
    price: {{input: 0.01, output: 0.02}}
    timeouts: {{first_token_ms: {first_token_ms}, total_ms: {total_ms}}}
{local_extra}  - name: cloud
    provider: openai
    base_url: {cloud}/v1
    tier: llm
    price: {{input: 2.5, output: 10}}
routing:
  default: slm
  llm: cloud
  privacy: local_only
{routing_extra}"""


class LocalStack:
    def __init__(self, request, tmp_path, gguf, context=512, first_token_ms=20000, total_ms=60000, routing_extra="",
                 local_extra=""):
        self.cloud = Fake(request.config.getoption("--fake-bin"), "cloud")
        self.ledger = str(tmp_path / "ledger.db")
        cfg = tmp_path / "tandem.yaml"
        cfg.write_text(CONFIG.format(ledger=self.ledger, gguf=gguf, context=context, cloud=self.cloud.url,
                                     first_token_ms=first_token_ms, total_ms=total_ms, routing_extra=routing_extra,
                                     local_extra=local_extra))
        self.config = cfg
        self.proc, self.port = _start([request.config.getoption("--tandem-bin"), "serve", "-c", str(cfg)])
        self.client = openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="x", max_retries=0,
                                    timeout=60)

    def rows(self):
        db = sqlite3.connect(self.ledger)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
        finally:
            db.close()

    def wait_rows(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.rows()) < n:
            time.sleep(0.05)
        return self.rows()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.cloud.stop()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "tiny-llama.gguf"
    gguf_tools.write_tiny_model(str(path), "llama", gguf_tools.ALL_TYPES)
    return str(path)


@pytest.fixture
def local(request, tmp_path, tiny):
    stacks = []

    def make(**kw):
        d = tmp_path / f"s{len(stacks)}"
        d.mkdir()
        s = LocalStack(request, d, kw.pop("gguf", tiny), **kw)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.stop()


MSG = [{"role": "user", "content": "the hello world the hell"}]


def test_answers_streams_and_meters_exactly(local):
    s = local()
    r = s.client.chat.completions.create(model="local", messages=MSG, max_tokens=12, temperature=0)
    assert r.model == "local" and r.object == "chat.completion"
    assert r.usage.completion_tokens == 12 and r.choices[0].finish_reason == "length"
    assert r.usage.prompt_tokens > 5
    chunks = list(s.client.chat.completions.create(model="local", messages=MSG, max_tokens=12, temperature=0,
                                                    stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == r.choices[0].message.content  # same greedy answer, streamed
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 12 and chunks[-1].usage.prompt_tokens == r.usage.prompt_tokens
    # The second identical prompt reuses the cached prefix as far as that changes nothing: all but its last 8 to
    # 11 tokens (a multiple of four, at least 8 short of the end: engine/generate/generate.h, ReusablePrefix).
    n = r.usage.prompt_tokens
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == (n - 8) // 4 * 4 > 0
    rows = s.wait_rows(2)
    assert [x["model"] for x in rows] == ["local", "local"] and all(x["http_status"] == 200 for x in rows)
    assert rows[0]["completion_tokens"] == 12


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.org/scan.png"}}


def test_media_goes_where_it_can_be_read(local):
    """The in-process engine reads text only: asked directly about an image it refuses (400) rather than answer
    another question; routed, an image goes to the LLM tier; under privacy local_only, an image holds what no
    scan can read, so the request stays local and is refused there: the cloud receives nothing."""
    s = local()
    ask = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, IMAGE]}]
    with pytest.raises(openai.BadRequestError) as e:
        s.client.chat.completions.create(model="local", messages=ask, max_tokens=5)
    assert "reads text only" in str(e.value) and "messages[0]" in str(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        s.client.chat.completions.create(model="auto", messages=ask, max_tokens=5)
    assert "reads text only" in str(e.value)
    assert s.cloud.stats()["requests"] == 0
    rows = s.wait_rows(2)
    assert [r["http_status"] for r in rows] == [400, 400]
    assert rows[1]["local_only"] == 1 and "media" in rows[1]["pii"]
    s.config.write_text(s.config.read_text().replace("privacy: local_only", "privacy: off"))
    import signal
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    raw = s.client.chat.completions.with_raw_response.create(model="auto", messages=ask, max_tokens=5)
    assert raw.headers["x-tandem-model"] == "cloud" and "media" in raw.headers["x-tandem-route"]
    assert s.cloud.stats()["requests"] == 1


def test_logprobs_and_stop_strings(local):
    s = local()
    r = s.client.chat.completions.create(model="local", messages=MSG, max_tokens=10, temperature=0, logprobs=True,
                                         top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == 10
    for t in content:
        assert len(t.top_logprobs) == 3 and t.logprob <= 0
        assert t.logprob == pytest.approx(t.top_logprobs[0].logprob)  # greedy picks the most likely token
    # Streamed, every token's logprob arrives too, also for text held back (a split UTF-8 character).
    chunks = list(s.client.chat.completions.create(model="local", messages=MSG, max_tokens=10, temperature=0,
                                                   logprobs=True, stream=True))
    streamed = [t.logprob for ch in chunks if ch.choices and ch.choices[0].logprobs
                for t in ch.choices[0].logprobs.content]
    assert streamed == [t.logprob for t in content]
    text = r.choices[0].message.content
    # A two-character stop string that first occurs after the start: the answer must end right before it.
    cut = next(i for i in range(1, len(text) - 1) if text[i:i + 2] not in text[:i + 1])
    stop = text[cut:cut + 2]
    r2 = s.client.chat.completions.create(model="local", messages=MSG, max_tokens=10, temperature=0, stop=[stop])
    assert r2.choices[0].message.content == text[:cut] and r2.choices[0].finish_reason == "stop"


def test_bad_requests_get_clear_errors(local):
    s = local(context=64)
    with pytest.raises(openai.BadRequestError, match="one choice"):
        s.client.chat.completions.create(model="local", messages=MSG, n=2)
    with pytest.raises(openai.BadRequestError, match="response_format.type"):
        s.client.chat.completions.create(model="local", messages=MSG, response_format={"type": "yaml"})
    with pytest.raises(openai.BadRequestError, match="'tuple' is not supported"):
        s.client.chat.completions.create(model="local", messages=MSG, response_format={
            "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "tuple"}}})
    with pytest.raises(openai.BadRequestError, match="does not fit the context"):
        s.client.chat.completions.create(model="local", messages=[{"role": "user", "content": "the hell " * 200}])
    # The engine is still serving.
    assert s.client.chat.completions.create(model="local", messages=MSG, max_tokens=2).usage.completion_tokens == 2


SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
    "level": {"enum": ["low", "high"]}, "active": {"type": "boolean"}},
    "required": ["name", "age", "tags", "level", "active"]}


def test_json_output_always_parses_even_from_a_random_model(local):
    """The tiny model's weights are random: unconstrained it writes noise. Constrained, every answer parses and
    follows the schema — also when max_tokens cuts it short (the grammar closes it)."""
    s = local()
    for seed in range(12):
        for fmt in ({"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}}):
            r = s.client.chat.completions.create(model="local", messages=MSG, temperature=1.0, seed=seed,
                                                 max_tokens=[8, 40, 200][seed % 3], response_format=fmt)
            doc = json.loads(r.choices[0].message.content)
            assert isinstance(doc, dict)
            if fmt["type"] == "json_schema":
                assert isinstance(doc["name"], str) and isinstance(doc["age"], int)
                assert all(isinstance(t, str) for t in doc["tags"]) and doc["level"] in ("low", "high")
                assert isinstance(doc["active"], bool)


def test_concurrent_requests_are_queued_not_dropped(local):
    s = local()
    results, errors = [], []

    def one(i):
        try:
            r = s.client.chat.completions.create(model="local", messages=[{"role": "user", "content": f"the {i}"}],
                                                 max_tokens=8, temperature=0)
            results.append(r.usage.completion_tokens)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [8, 8, 8, 8]


def test_repeated_concurrent_streams_all_finish(local):
    """No lost wake-up between the engine thread and the event loops: rounds of 8 concurrent streams (more than
    the 4 slots, so some queue and join between steps), each chunk delivered and every stream finished with its
    usage, on 2 network threads. A stalled stream would hit the client's 30 s read timeout. (It did, about one run
    in nine, while pieces that arrived during a chunk's write woke a timer nobody was waiting on yet.)"""
    s = local(local_extra="    slots: 4\n")
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{s.port}/v1", api_key="x", max_retries=0, timeout=30)
    for rnd in range(12):
        done, errors = [], []

        def one(i):
            try:
                chunks = list(client.chat.completions.create(
                    model="local", stream=True, max_tokens=24, temperature=0, stream_options={"include_usage": True},
                    messages=[{"role": "user", "content": f"the hello {i} world " * (1 + (i + rnd) % 5)}]))
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                done.append((chunks[-1].usage.completion_tokens, len(text) > 0))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(done) == 8 and all(n > 0 for n, _ in done)


def test_client_hang_up_stops_generation(local):
    s = local()
    body = json.dumps({"model": "local", "messages": MSG, "max_tokens": 400, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while b"data:" not in got:
        got += sock.recv(4096)
    sock.close()
    rows = s.wait_rows(1, timeout=20)
    assert rows and rows[0]["http_status"] == 499 and rows[0]["completion_tokens"] < 400
    assert s.client.chat.completions.create(model="local", messages=MSG, max_tokens=3).usage.completion_tokens == 3


def test_timeout_while_queued_is_504(local):
    # One slot: a long generation holds it; a request queued behind it misses its first-token deadline.
    s = local(first_token_ms=100, context=4096, local_extra="    slots: 1\n")
    long = threading.Thread(target=lambda: s.client.chat.completions.create(
        model="local", messages=MSG, max_tokens=3000, temperature=0))
    long.start()
    time.sleep(0.05)
    with pytest.raises(openai.APIStatusError) as e:
        s.client.chat.completions.create(model="local", messages=MSG, max_tokens=5)
    assert e.value.status_code == 504 and "first token" in str(e.value)
    long.join()


def test_a_full_engine_answers_503_with_retry_after_at_once(local):
    # One slot and a queue of one: a third request is refused at once, with an OpenAI error body, and nothing is lost.
    s = local(context=4096, local_extra="    slots: 1\n    queue: 1\n")
    done, generating = [], threading.Event()

    def long_one():  # holds the slot for a second or more; says so once its first token is out
        n = 0
        for c in s.client.chat.completions.create(model="local", messages=MSG, max_tokens=3000, temperature=0,
                                                  stream=True, stream_options={"include_usage": True}):
            generating.set()
            n = c.usage.completion_tokens if c.usage else n
        done.append(n)

    runs = [threading.Thread(target=long_one), threading.Thread(target=lambda: done.append(
        s.client.chat.completions.create(model="local", messages=MSG, max_tokens=5).usage.completion_tokens))]
    runs[0].start()
    assert generating.wait(20)
    runs[1].start()  # waits in the queue behind the long one
    time.sleep(0.3)
    body = json.dumps({"model": "local", "messages": MSG, "max_tokens": 5}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{s.port}/v1/chat/completions", data=body, method="POST",
                                 headers={"content-type": "application/json"})
    t0 = time.time()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert time.time() - t0 < 2  # refused, not queued
    assert e.value.code == 503 and e.value.headers["retry-after"] == "1"
    err = json.loads(e.value.read())["error"]
    assert "busy" in err["message"] and "1 slots" in err["message"] and err["type"]
    for t in runs:
        t.join()
    assert sorted(done) == [5, 3000]


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
def test_concurrent_greedy_answers_equal_the_answers_alone(local):
    """Continuous batching: requests generated together (and joining mid-stream) answer exactly as they do alone."""
    s = local(gguf=str(SMOLLM), context=2048)
    prompts = [f"Write one sentence about the number {i}." + " Be brief." * i for i in range(6)]

    def ask(p, stream=False):
        kw = dict(model="local", messages=[{"role": "user", "content": p}], max_tokens=24, temperature=0)
        if stream:
            return "".join(c.choices[0].delta.content or "" for c in s.client.chat.completions.create(stream=True, **kw)
                           if c.choices)
        return s.client.chat.completions.create(**kw).choices[0].message.content

    alone = [ask(p) for p in prompts]
    together = [None] * len(prompts)

    def one(i):
        time.sleep(0.05 * i)  # staggered: later ones join a running batch
        together[i] = ask(prompts[i], stream=i % 2 == 1)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone
    assert len(set(alone)) > 1


def test_a_prefix_is_reused_from_the_prefix_cache_after_its_slot_moved_on(local):
    """Prompt prefixes are kept across requests: after the only slot has run an unrelated prompt, a request with an
    earlier request's long system prompt reuses that prefix's KV blocks (usage.prompt_tokens_details.cached_tokens)
    and answers exactly, logprobs and all, as a server without the prefix cache does."""
    system = {"role": "system", "content": " ".join(f"rule {i}: the hello world the hell" for i in range(40))}
    first = [system, {"role": "user", "content": "the hello"}]
    other = [{"role": "user", "content": "world world hell " * 30}]
    again = [system, {"role": "user", "content": "the world hell hello"}]

    def run(stack):
        def ask(msgs):
            return stack.client.chat.completions.create(model="local", messages=msgs, max_tokens=10, temperature=0,
                                                        logprobs=True)
        ask(first)
        ask(other)  # the one slot now holds this prompt
        return ask(again)

    cached = run(local(context=2048, local_extra="    slots: 1\n"))
    plain = run(local(context=2048, local_extra="    slots: 1\n    prefix_cache_mb: 0\n"))
    assert plain.usage.prompt_tokens == cached.usage.prompt_tokens > 256
    reused = cached.usage.prompt_tokens_details.cached_tokens
    assert reused % 64 == 0 and reused >= 256, reused  # whole 64-token blocks of the system prompt
    assert plain.usage.prompt_tokens_details.cached_tokens < 64  # only what the unrelated prompt shared with it
    assert cached.choices[0].message.content == plain.choices[0].message.content
    assert ([t.logprob for t in cached.choices[0].logprobs.content] ==
            [t.logprob for t in plain.choices[0].logprobs.content])


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
@pytest.mark.skipif(SANITIZED, reason="real-model generation is too slow under sanitizers")
def test_an_answer_does_not_depend_on_what_its_slot_ran_before(local):
    """Cache reuse changes nothing: prompts sharing prefixes of many lengths (extended, cut), asked in one order
    on one server, again (each now finds itself cached), and in the reverse order on another, get the same tokens
    and the same logprobs to the bit, though each found a different cache in its slot each time."""
    base = "the hello world the hell " * 12
    prompts = [base[:k] + tail for k in (40, 97, 150, 210, len(base)) for tail in ("", " hello", " world world")]

    def ask(stack, p):
        r = stack.client.chat.completions.create(model="local", messages=[{"role": "user", "content": p}],
                                                 max_tokens=6, temperature=0, logprobs=True)
        return r.choices[0].message.content, [t.logprob for t in r.choices[0].logprobs.content], \
            r.usage.prompt_tokens_details.cached_tokens

    one = local(gguf=str(SMOLLM), context=2048, local_extra="    slots: 1\n")
    two = local(gguf=str(SMOLLM), context=2048, local_extra="    slots: 2\n    prefix_cache_mb: 0\n")
    forward = {p: ask(one, p) for p in prompts}
    again = {p: ask(one, p) for p in prompts}
    backward = {p: ask(two, p) for p in reversed(prompts)}
    assert {p: a[:2] for p, a in forward.items()} == {p: a[:2] for p, a in again.items()}
    assert {p: a[:2] for p, a in forward.items()} == {p: a[:2] for p, a in backward.items()}
    reused = [a[2] for a in forward.values()] + [a[2] for a in again.values()] + [a[2] for a in backward.values()]
    assert sum(c > 0 for c in reused) >= len(prompts) // 2 and len(set(reused)) > 3  # reuse of many lengths


def test_the_prefix_cache_keeps_to_its_budget_and_evicts_a_prefix_from_its_end(local):
    """prefix_cache_mb bounds the kept blocks: a prompt longer than the budget keeps its leading blocks (a block is
    used more recently than its descendants), so a later request reuses exactly what fits. The tiny model's block
    is 64 KiB (2 layers x 64 tokens x 128 halves x K and V), so 1 MiB holds 16 blocks: 1,024 tokens."""
    system = {"role": "system", "content": " ".join(f"rule {i}: the hello world the hell" for i in range(60))}
    other = [{"role": "user", "content": "world world hell " * 30}]

    def run(stack):
        ask = lambda msgs: stack.client.chat.completions.create(model="local", messages=msgs, max_tokens=2,  # noqa
                                                                 temperature=0)
        ask([system, {"role": "user", "content": "the hello"}])
        between = ask(other)  # its whole blocks are kept too, the most recent
        return ask([system, {"role": "user", "content": "hello the"}]), between.usage.prompt_tokens // 64

    small, other_blocks = run(local(context=2048, local_extra="    slots: 1\n    prefix_cache_mb: 1\n"))
    assert small.usage.prompt_tokens > 1200 and 0 < other_blocks < 16
    # 16 blocks fit: the other prompt's, and the system prompt's leading ones.
    assert small.usage.prompt_tokens_details.cached_tokens == (16 - other_blocks) * 64
    big, _ = run(local(context=2048, local_extra="    slots: 1\n"))
    assert big.usage.prompt_tokens_details.cached_tokens > 1024
    assert big.choices[0].message.content == small.choices[0].message.content


def test_config_errors_name_the_file(tmp_path, request, tiny):
    tandem = request.config.getoption("--tandem-bin")
    cfg = tmp_path / "t.yaml"
    cfg.write_text("models:\n  - name: m\n    provider: local\n    gguf: nope.gguf\n    tier: slm\nrouting: {default: slm}\n")
    r = subprocess.run([tandem, "check-config", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0 and f"{cfg}:4" in r.stderr and "nope.gguf" in r.stderr
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(Path(tiny).read_bytes()[:5000])
    cfg.write_text(f"server: {{listen: 127.0.0.1:0}}\nmodels:\n  - name: m\n    provider: local\n    gguf: {bad}\n"
                   "    tier: slm\nrouting: {default: slm}\n")
    r = subprocess.run([tandem, "serve", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "truncated file" in r.stderr and str(bad) in r.stderr


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
@pytest.mark.skipif(SANITIZED, reason="real-model generation is too slow under sanitizers")
def test_real_smollm2_answers_and_personal_data_stays_local(local):
    s = local(gguf=str(SMOLLM), context=2048)
    r = s.client.chat.completions.create(model="auto", temperature=0, max_tokens=20,
                                         messages=[{"role": "user", "content": "What is the capital of France? "
                                                                               "Answer briefly."}])
    assert "Paris" in r.choices[0].message.content
    person = s.client.chat.completions.create(
        model="local", temperature=0, max_tokens=60, messages=[{"role": "user", "content": "Describe a person."}],
        response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}})
    doc = json.loads(person.choices[0].message.content)
    assert set(doc) == set(SCHEMA["required"])
    pii = s.client.chat.completions.create(model="auto", max_tokens=8, messages=[
        {"role": "user", "content": "Write to jane.doe@example.com about invoice 4111 1111 1111 1111."}])
    assert pii.model == "local"
    assert s.cloud.stats()["requests"] == 0
    # Time in the engine is model time, not gateway overhead (as waiting on an HTTP upstream is).
    raw = s.client.chat.completions.with_raw_response.create(
        model="local", temperature=0, max_tokens=24, messages=[{"role": "user", "content": "Count to ten."}])
    rows = s.wait_rows(4)
    assert all(row["overhead_us"] < row["total_us"] / 4 for row in rows), rows
    assert int(raw.headers["x-tandem-overhead-us"]) < rows[-1]["total_us"] / 4


def test_cascade_with_the_in_process_engine(local):
    """The engine's own token logprobs drive the cascade: a threshold just above the draft's confidence
    escalates it, one just below lets it stand."""
    import math
    import signal
    s = local()
    r = s.client.chat.completions.create(model="local", messages=MSG, max_tokens=8, temperature=0, logprobs=True)
    lps = [t.logprob for t in r.choices[0].logprobs.content]
    confidence = math.exp(sum(lps) / len(lps))
    print("tiny model draft confidence", confidence)
    for threshold, verdict in [(confidence * 1.02, "escalated"), (confidence * 0.98, "accepted")]:
        if threshold > 1:
            continue
        s.config.write_text(s.config.read_text().split("  cascade:")[0].rstrip("\n") + "\n" +
                            f"  cascade: {{min_confidence: {threshold:.6f}}}\n")
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        raw = s.client.chat.completions.with_raw_response.create(model="auto", messages=MSG, max_tokens=8,
                                                                 temperature=0)
        assert raw.headers["x-tandem-cascade"].startswith(f"{verdict}: confidence {confidence:.3f}"), raw.headers
        answer = raw.parse().choices[0].message.content
        if verdict == "escalated":
            assert answer.startswith("cloud says")
        else:
            assert answer == r.choices[0].message.content  # the draft itself, replayed
    assert s.cloud.stats()["requests"] == (1 if confidence * 1.02 <= 1 else 0)


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
@pytest.mark.skipif(SANITIZED, reason="real-model generation is too slow under sanitizers")
def test_cascade_keeps_what_smollm2_is_sure_of(local):
    s = local(gguf=str(SMOLLM), context=2048, routing_extra="  cascade: {min_confidence: 0.6}\n")
    stream = s.client.chat.completions.with_raw_response.create(
        model="auto", temperature=0, max_tokens=12, stream=True,
        messages=[{"role": "user", "content": "What is the capital of France? Answer with one word."}])
    verdict = stream.headers["x-tandem-cascade"]
    assert verdict.startswith("accepted: confidence"), verdict
    text = "".join(ch.choices[0].delta.content or "" for ch in stream.parse() if ch.choices)
    assert "Paris" in text
    assert s.cloud.stats()["requests"] == 0


def test_slm_scored_router_decides_with_the_prefill_and_reuses_it(local, request, tmp_path, tiny):
    """The SLM-scored router: `tandem train --encoder` learns from the model's own hidden states; the gateway
    encodes each routed prompt with the in-process model, and when the SLM keeps it, the answer reuses the
    KV cache of that prefill (cached_tokens = all but the last 8 to 11 prompt tokens, rerun in batch order so that
    the answer is the one a fresh prefill gives)."""
    import random
    import re
    rng = random.Random(5)
    cities = ["Paris", "Lima", "Oslo", "Cairo", "Quito", "Hanoi", "Perth", "Dakar"]
    topics = ["tunneling", "entanglement", "decoherence", "superposition", "spin", "teleportation"]
    data = tmp_path / "outcomes.jsonl"
    with open(data, "w") as f:
        for i in range(240):
            if i % 2:
                f.write(json.dumps({"prompt": f"what is the weather like in {rng.choice(cities)} today",
                                    "weak": True, "strong": True}) + "\n")
            else:
                f.write(json.dumps({"prompt": f"derive the quantum {rng.choice(topics)} equations rigorously",
                                    "weak": False, "strong": True}) + "\n")
    head = tmp_path / "tiny.tsr"
    tandem = request.config.getoption("--tandem-bin")
    r = subprocess.run([tandem, "train", "--data", str(data), "--encoder", tiny, "--out", str(head)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    apgr = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(slm-head|oracle|random)\s+([\d.]+)", r.stdout, re.M)}
    # The two kinds of prompt are apart in the model's hidden states: the head routes as well as the oracle.
    assert apgr["slm-head"] >= apgr["oracle"] - 0.005 and apgr["random"] < 0.6, r.stdout

    # `tandem eval` replays the same outcomes through the saved head, embedding with the model it names.
    ev = subprocess.run([tandem, "eval", "--data", str(data), "--router", f"random,slm:{head}", "--encoder", tiny],
                        capture_output=True, text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    scored = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(slm:\S+|oracle)\s+([\d.]+)", ev.stdout, re.M)}
    assert scored[f"slm:{head}"] >= scored["oracle"] - 0.005, ev.stdout
    assert "240 prompts" in ev.stdout
    no_encoder = subprocess.run([tandem, "eval", "--data", str(data), "--router", f"slm:{head}"],
                                capture_output=True, text=True, timeout=60)
    assert no_encoder.returncode == 2 and "needs --encoder" in no_encoder.stderr

    s = local(routing_extra=f"  slm_scored: {{router: {head}, threshold: 0.5}}\n")
    msgs = [{"role": "user", "content": "what is the weather like in Oslo today"}]
    raw = s.client.chat.completions.with_raw_response.create(model="auto", messages=msgs, max_tokens=4)
    answer = raw.parse()
    assert answer.model == "local" and "slm-scored router: score" in raw.headers["x-tandem-route"]
    n = answer.usage.prompt_tokens
    assert answer.usage.prompt_tokens_details.cached_tokens == (n - 8) // 4 * 4 > 0
    raw = s.client.chat.completions.with_raw_response.create(
        model="auto", max_tokens=4, messages=[{"role": "user", "content": "derive the quantum spin equations rigorously"}])
    assert raw.parse().choices[0].message.content.startswith("cloud says")
    assert re.search(r"slm-scored router: score [01]\.\d+ >= threshold 0\.500", raw.headers["x-tandem-route"])
    rows = s.wait_rows(2)
    assert [row["rule"] for row in rows] == ["slm-scored", "slm-scored"]

    # Calibration runs the same encoder: a 50% target on a half-and-half sample puts the cut between the kinds.
    sample = tmp_path / "sample.jsonl"
    prompts = [f"what is the weather like in {c} today" for c in cities] + \
              [f"derive the quantum {t} equations rigorously" for t in topics[:4]] + \
              [f"derive the quantum {t} equations rigorously please" for t in topics[:4]]
    sample.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    s.config.write_text(s.config.read_text().replace("threshold: 0.5}", "threshold: 0.99, target_llm_share: 0.1}"))
    cal = subprocess.run([tandem, "calibrate", "-c", str(s.config), "--sample", str(sample), "--target-llm-share",
                          "0.5", "--write"], capture_output=True, text=True, timeout=120)
    assert cal.returncode == 0, cal.stderr
    assert "router:            routing.slm_scored" in cal.stdout and "LLM share:         50.0%" in cal.stdout, cal.stdout
    assert "target_llm_share: 0.5}" in s.config.read_text()

    # A head trained on another model is refused, naming both encoders.
    other = tmp_path / "other.gguf"
    gguf_tools.write_tiny_model(str(other), "qwen2", gguf_tools.ALL_TYPES)
    cfg = s.config.read_text().replace(tiny, str(other))
    s.config.write_text(cfg)
    chk = subprocess.run([tandem, "check-config", str(s.config)], capture_output=True, text=True, timeout=60)
    assert chk.returncode == 1 and "routing.slm_scored.router: trained on" in chk.stderr, chk.stderr
    ev = subprocess.run([tandem, "eval", "--data", str(data), "--router", f"slm:{head}", "--encoder", str(other)],
                        capture_output=True, text=True, timeout=120)
    assert ev.returncode == 1 and "trained on" in ev.stderr and "but --encoder is" in ev.stderr, ev.stderr



def test_a_head_on_the_slms_own_states_is_measured_on_tasks_it_did_not_train_on(request, tmp_path, tiny):
    """`tandem train --encoder --target error --leave-one-task-out`: the head learns where the SLM itself goes
    wrong from its prompt states, scored on each task by a head trained on the other; with the outcomes' answer
    signals it is also reported combined with the first-token confidence."""
    import random
    import re
    rng = random.Random(11)
    data = tmp_path / "outcomes.jsonl"
    with open(data, "w") as f:
        for task, (cities, topics) in {"geo": (["Paris", "Lima", "Oslo"], ["spin", "tunneling"]),
                                       "sci": (["Cairo", "Quito", "Hanoi"], ["entanglement", "decoherence"])}.items():
            for i in range(80):
                right = i % 2 == 1
                prompt = (f"what is the weather like in {rng.choice(cities)} today" if right
                          else f"derive the quantum {rng.choice(topics)} equations rigorously")
                f.write(json.dumps({"prompt": prompt, "weak": right, "strong": True, "domain": task, "slm": "tiny",
                                    "signals": {"first_prob": rng.uniform(0.3, 0.7)}}) + "\n")
    tandem = request.config.getoption("--tandem-bin")
    head = tmp_path / "own.tsr"
    r = subprocess.run([tandem, "train", "--data", str(data), "--encoder", tiny, "--target", "error",
                        "--leave-one-task-out", "--out", str(head)], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    tables = r.stdout.split("\nrouter ")[1:]
    assert len(tables) == 2 and "Leave one task out" in r.stdout, r.stdout
    for table in tables:
        apgr = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\S+)\s+([\d.]+)", table, re.M)}
        # Errors follow the kind of prompt on both tasks: a head trained on one routes the other like the oracle,
        # and the uninformative first-token confidence dilutes it when combined.
        assert apgr["slm-head"] >= apgr["oracle"] - 0.01, table
        assert apgr["slm-head+first_prob"] < apgr["slm-head"], table
        assert "signal:-first_prob" in apgr and "slm-head+text" in apgr, table
    assert "target error" in r.stdout and head.stat().st_size > 0
    one = tmp_path / "one.jsonl"
    one.write_text("".join(line for line in data.read_text().splitlines(True) if '"geo"' in line))
    r = subprocess.run([tandem, "train", "--data", str(one), "--encoder", tiny, "--leave-one-task-out", "--out",
                        str(tmp_path / "x.tsr")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "fewer than two tasks" in r.stderr, r.stderr
    r = subprocess.run([tandem, "train", "--data", str(data), "--encoder", tiny, "--target", "loss", "--out",
                        str(tmp_path / "x.tsr")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--target" in r.stderr, r.stderr

WEATHER_TOOL = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Current time in a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def test_tool_calls_are_constrained_so_they_always_parse(local):
    """With tools offered, even a random model can only answer with calls to those tools (or none), and the
    arguments are always JSON — streamed or not."""
    s = local(context=2048)
    for seed in range(4):
        r = s.client.chat.completions.create(model="local", messages=MSG, tools=WEATHER_TOOL, max_tokens=40,
                                             temperature=1.0, seed=seed)
        msg = r.choices[0].message
        if msg.tool_calls:
            assert r.choices[0].finish_reason == "tool_calls" and msg.content is None
            for call in msg.tool_calls:
                assert call.function.name in ("get_weather", "get_time") and call.id.startswith("call_")
                json.loads(call.function.arguments)
        else:
            assert msg.content == ""
    chunks = list(s.client.chat.completions.create(model="local", messages=MSG, tools=WEATHER_TOOL, max_tokens=40,
                                                   temperature=1.0, seed=1, stream=True))
    deltas = [tc for ch in chunks if ch.choices and ch.choices[0].delta.tool_calls for tc in ch.choices[0].delta.tool_calls]
    streamed = s.client.chat.completions.create(model="local", messages=MSG, tools=WEATHER_TOOL, max_tokens=40,
                                                temperature=1.0, seed=1)
    assert [d.function.name for d in deltas] == [c.function.name for c in streamed.choices[0].message.tool_calls or []]
    # However long the budget: at most eight calls, none repeated; one when parallel calls are off.
    for seed in range(3):
        for parallel, cap in ((True, 8), (False, 1)):
            r = s.client.chat.completions.create(model="local", messages=MSG, tools=WEATHER_TOOL, max_tokens=400,
                                                 temperature=1.0, seed=seed, parallel_tool_calls=parallel)
            calls = [(c.function.name, c.function.arguments) for c in r.choices[0].message.tool_calls or []]
            assert len(calls) <= cap and len(set(calls)) == len(calls), calls
    # tool_choice "none": a plain answer.
    plain = s.client.chat.completions.create(model="local", messages=MSG, tools=WEATHER_TOOL, tool_choice="none",
                                             max_tokens=5, temperature=0)
    assert plain.choices[0].message.tool_calls is None and plain.choices[0].finish_reason in ("stop", "length")


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
@pytest.mark.skipif(SANITIZED, reason="real-model generation is too slow under sanitizers")
def test_smollm2_calls_the_right_tool(local):
    s = local(gguf=str(SMOLLM), context=2048)
    r = s.client.chat.completions.create(model="local", temperature=0, max_tokens=60, tools=WEATHER_TOOL,
                                         messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    calls = r.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather", r
    assert "Paris" in json.loads(calls[0].function.arguments).get("city", ""), calls[0].function.arguments
    # Offered one tool and a long budget, it once wrote 114 identical calls: the answer now ends at a repeat.
    ask = [{"role": "user", "content": "What's the weather in Paris?"}]
    r = s.client.chat.completions.create(model="local", temperature=0, max_tokens=600, tools=WEATHER_TOOL[:1],
                                         messages=ask)
    calls = [(c.function.name, c.function.arguments) for c in r.choices[0].message.tool_calls]
    assert 1 <= len(calls) <= 8 and len(set(calls)) == len(calls), calls
    assert r.usage.completion_tokens < 300, r.usage
    one = s.client.chat.completions.create(model="local", temperature=0, max_tokens=600, tools=WEATHER_TOOL,
                                           parallel_tool_calls=False, messages=ask)
    assert len(one.choices[0].message.tool_calls) == 1 and one.choices[0].finish_reason == "tool_calls"


@pytest.mark.skipif(not SMOLLM.exists(), reason="SmolLM2 not downloaded (scripts/setup.sh --with-models)")
@pytest.mark.skipif(SANITIZED, reason="real-model generation is too slow under sanitizers")
def test_the_cascade_probes_a_multiple_choice_draft_as_outcomes_does(local, request, tmp_path):
    """A cascade router that reads perm_prob: the gateway asks a multiple-choice draft's question again in each
    rotation of its options, and finds the same perm_* signals that `tandem outcomes --permute` measured offline;
    a question without options is not probed."""
    tandem = request.config.getoption("--tandem-bin")
    question = "Which planet is closest to the Sun?\nA) Venus\nB) Mercury\nC) Mars\nAnswer:"
    labelled, outcomes, tcr = tmp_path / "q.jsonl", tmp_path / "o.jsonl", tmp_path / "perm.tcr"
    labelled.write_text(json.dumps({"prompt": question, "answer": "B", "strong": 1}) + "\n")
    r = subprocess.run([tandem, "outcomes", "--data", str(labelled), "--model", str(SMOLLM), "--permute",
                        "--out", str(outcomes)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    offline = json.loads(outcomes.read_text())
    assert {"perm_prob", "perm_agree", "perm_top", "perm_same"} <= offline["signals"].keys()
    with open(outcomes, "a") as f:  # enough rows of this SLM to fit a router on
        for i in range(40):
            f.write(json.dumps({"slm": offline["slm"], "prompt": f"q{i}", "weak": i % 2, "strong": 1,
                                "signals": {"first_prob": 0.5, "perm_prob": 0.2 + 0.6 * (i % 2)}}) + "\n")
    r = subprocess.run([tandem, "train", "--data", str(outcomes), "--signals", "first_prob,perm_prob", "--out",
                        str(tcr)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    s = local(gguf=str(SMOLLM), context=2048,
              routing_extra=f"  cascade: {{router: {tcr}, min_confidence: 0, ttft_budget_ms: 60000}}\n")
    raw = s.client.chat.completions.with_raw_response.create(
        model="auto", temperature=0, max_tokens=4, messages=[{"role": "user", "content": question}])
    assert "options probed" in raw.headers["x-tandem-cascade"], raw.headers["x-tandem-cascade"]
    raw = s.client.chat.completions.with_raw_response.create(
        model="auto", temperature=0, max_tokens=4, messages=[{"role": "user", "content": "Say hello."}])
    assert "options probed" not in raw.headers["x-tandem-cascade"], raw.headers["x-tandem-cascade"]
    probed, plain = s.wait_rows(2)
    served = json.loads(probed["signals"])
    for k in ["perm_prob", "perm_agree", "perm_top", "perm_same"]:
        assert served[k] == pytest.approx(offline["signals"][k], abs=1e-3), (k, served, offline["signals"])
    assert "perm_prob" not in json.loads(plain["signals"])
    # The probe's prefills are in the draft's tokens: more than the accepted draft's own prompt and answer.
    assert probed["draft_tokens"] > probed["prompt_tokens"] + probed["completion_tokens"], probed
    assert plain["draft_tokens"] == plain["prompt_tokens"] + plain["completion_tokens"], plain
