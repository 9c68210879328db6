"""`tandem agent`: the model calls tools through the router, sees their results, and answers; caps stop it."""
import json
import re
import subprocess

from conftest import TWO_FAKES_CONFIG, Fake


TASK = "What is six times seven?"


def run(request, tmp_path, *extra):
    fake_bin = request.config.getoption("--fake-bin")
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"prompt": TASK, "tools": ["calculator", "clock", "final_answer"],
                                   "tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]}) + "\n")
    slm = Fake(fake_bin, "slm", "--answers", str(answers))
    llm = Fake(fake_bin, "llm")
    try:
        cfg = tmp_path / "tandem.yaml"
        cfg.write_text(TWO_FAKES_CONFIG.format(ledger=tmp_path / "l.db", slm=slm.url, llm=llm.url))
        r = subprocess.run([request.config.getoption("--tandem-bin"), "agent", TASK, "-c", str(cfg), *extra],
                           capture_output=True, text=True, timeout=60)
        return r, slm.stats(), llm.stats()
    finally:
        slm.stop()
        llm.stop()


def test_the_agent_calls_a_tool_reads_the_result_and_answers(request, tmp_path):
    r, slm, llm = run(request, tmp_path, "--tools", "calculator,clock")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^step 1  slm .*\n  call   calculator \{\"expression\":\"6\*7\"\}\n  result 42$", r.stdout, re.M), r.stdout
    assert "status: done (final answer); 2 steps" in r.stdout
    assert re.search(r"^answer: slm says: tool said 42", r.stdout, re.M), r.stdout
    # The second request carried the call and its result; the cloud was never asked.
    second = json.loads(slm["bodies"][1])
    assert second["messages"][-1] == {"role": "tool", "content": "42", "tool_call_id": "call_1_0"}
    assert [t["function"]["name"] for t in second["tools"]] == ["calculator", "clock", "final_answer"]
    assert llm["requests"] == 0


def test_caps_stop_the_agent_with_a_clear_status(request, tmp_path):
    r, _, _ = run(request, tmp_path, "--tools", "calculator,clock", "--max-steps", "1")
    assert r.returncode == 3 and "status: max_steps (stopped after 1 steps without a final answer)" in r.stdout
    r, _, _ = run(request, tmp_path, "--tools", "calculator,clock", "--max-cost-usd", "0.0000001")
    assert r.returncode == 3 and "status: max_cost" in r.stdout, r.stdout
    r, _, _ = run(request, tmp_path, "--tools", "calculator,teleporter")
    assert r.returncode == 2 and "unknown or incomplete tool 'teleporter'" in r.stderr


def test_a_final_answer_check_sends_the_model_back_to_work(request, tmp_path):
    r, slm, _ = run(request, tmp_path, "--tools", "calculator,clock", "--answer-pattern", "42")
    assert r.returncode == 0 and "answer: slm says: tool said 42" in r.stdout, r.stdout
    r, slm, _ = run(request, tmp_path, "--tools", "calculator,clock", "--answer-pattern", "^[0-9]+$", "--max-steps", "3")
    assert r.returncode == 3 and "status: max_steps" in r.stdout, r.stdout
    # The objection went back to the model as the result of its final answer.
    last = json.loads(slm["bodies"][-1])["messages"][-1]
    assert last["role"] == "tool" and "the answer must match the pattern ^[0-9]+$" in last["content"], last
    r, _, _ = run(request, tmp_path, "--answer-pattern", "(")
    assert r.returncode == 2 and "answer pattern '('" in r.stderr
