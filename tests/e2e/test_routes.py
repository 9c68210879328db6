"""Described routes (routing.routes): the in-process SLM picks a route by name for what no rule decided, in one
prefill, and the route's target serves. The real SmolLM2 reads the routes; a request privacy keeps local is never
routed; broken route configs are refused with file and line."""
import re
import subprocess

import pytest

from test_local_provider import SMOLLM, local, tiny  # noqa: F401 (fixtures)

ROUTES = """  routes:
    - name: code
      description: programming - write, fix or explain code
      then: llm
      examples: ["Write a function that reverses a list."]
    - name: chat
      description: everything else - greetings, small talk, questions about the world
      then: slm
      examples: ["Hello, how are you today?"]
"""

pytestmark = pytest.mark.skipif(not SMOLLM.exists(), reason="needs models/ (scripts/setup.sh --with-models)")


def test_the_slm_picks_a_route_and_its_target_serves(local):  # noqa: F811
    s = local(gguf=str(SMOLLM), context=2048, routing_extra=ROUTES)
    picks = []
    for text in ["Write a Python function that sorts a dictionary by value.", "Hi there! Nice weather today.",
                 "Fix this JavaScript: consol.log('x')", "Good morning, how was your weekend?"]:
        raw = s.client.chat.completions.with_raw_response.create(
            model="auto", max_tokens=8, messages=[{"role": "user", "content": text}])
        route = raw.headers["x-tandem-route"]
        m = re.search(r"route '(code|chat)': p (0\.\d\d|1\.00) among 2 routes \(one prefill of (\d+) tokens, "
                      r"(\d+) cached, \+(\d+) name tokens", route)
        assert m, route
        picks.append(m.group(1))
        # The route's target served: code goes to the cloud fake, chat stays on the SLM.
        assert raw.headers["x-tandem-model"] == ("cloud" if m.group(1) == "code" else "local"), route
        assert raw.parse().choices[0].message.content
        assert int(m.group(4)) > 0  # the routing prompt's fixed part stays cached
    rows = s.wait_rows(4)
    assert [r["rule"] for r in rows] == picks
    assert all(r["tier"] == ("llm" if r["rule"] == "code" else "slm") for r in rows)
    # Personal data under local_only: privacy decides, no route is scored.
    raw = s.client.chat.completions.with_raw_response.create(
        model="auto", max_tokens=4, messages=[{"role": "user", "content": "Write code that emails jane@example.com"}])
    assert raw.headers["x-tandem-model"] == "local" and "route '" not in raw.headers["x-tandem-route"]
    assert s.cloud.stats()["requests"] == picks.count("code")


def test_eval_routes_reports_accuracy_and_cost(local, request, tmp_path):  # noqa: F811
    s = local(gguf=str(SMOLLM), context=2048, routing_extra=ROUTES)
    data = tmp_path / "mix.jsonl"
    data.write_text('{"prompt": "Write a function that adds two numbers.", "route": "code"}\n'
                    '{"prompt": "Hello! How are you?", "route": "chat"}\n')
    out = subprocess.run([request.config.getoption("--tandem-bin"), "eval-routes", "-c", str(s.config), "--data",
                          str(data)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    acc = re.search(r"accuracy:\s+([\d.]+)% \((\d) of 2\)", out.stdout)
    assert acc, out.stdout
    assert re.search(r"cost per pick:\s+\d+ prompt tokens \(\d+ cached\), \+[\d.]+ route-name tokens", out.stdout)
    assert re.search(r"^code\s+1 ", out.stdout, re.M) and re.search(r"^chat\s+1 ", out.stdout, re.M)
    data.write_text('{"prompt": "no route"}\n')
    out = subprocess.run([request.config.getoption("--tandem-bin"), "eval-routes", "-c", str(s.config), "--data",
                          str(data)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "mix.jsonl:1: expected" in out.stderr


@pytest.mark.parametrize("routes,msg", [
    ("  routes:\n    - {name: a, description: x, then: llm}\n", "routing.routes: expected a list of 2 to 26"),
    ("  routes:\n    - {name: a, description: x, then: llm}\n    - {name: a, description: y, then: slm}\n",
     "routing.routes[1].name: 'a' is already a route"),
    ("  routes:\n    - {name: two words, description: x, then: llm}\n    - {name: b, description: y, then: slm}\n",
     "routing.routes[0].name: expected one word"),
    ("  routes:\n    - {name: a, then: llm}\n    - {name: b, description: y, then: slm}\n",
     "routing.routes[0]: 'description' is required"),
    ("  routes:\n    - {name: a, description: x, then: nowhere}\n    - {name: b, description: y, then: slm}\n",
     "routing.routes[0].then: 'nowhere' is neither"),
])
def test_route_config_errors(request, tmp_path, tiny, routes, msg):  # noqa: F811
    from test_local_provider import CONFIG
    cfg = tmp_path / "tandem.yaml"
    cfg.write_text(CONFIG.format(ledger=tmp_path / "l.db", gguf=tiny, context=512, cloud="http://127.0.0.1:9",
                                 first_token_ms=1000, total_ms=1000, routing_extra=routes, local_extra=""))
    r = subprocess.run([request.config.getoption("--tandem-bin"), "check-config", str(cfg)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and msg in r.stderr and re.search(r"tandem.yaml:\d+", r.stderr), r.stderr


def test_routes_need_an_in_process_slm(make_stack):
    stack = make_stack()  # conftest's stack: the SLM is a remote server
    stack.assert_config_error(ROUTES, "must be served in-process (provider: local)")
