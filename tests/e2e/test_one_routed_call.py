"""One routed call: agent and workflow steps go through the same routing stages as /v1/chat/completions — the
cascade and the escalation fallback included (gateway/routed_call.h). Before RoutedCall, agents and workflows
called the rules policy alone: an agent step was never drafted by the SLM, and a step routed to an unreachable LLM
failed instead of being answered by the SLM."""
import json
import sqlite3
import subprocess

CASCADE = "  cascade: {min_confidence: 0.5, measure: mean, ttft_budget_ms: 5000}\n"

WORKFLOW = """name: one-step
description: one routed model step
inputs:
  q: {type: string, description: the question}
steps:
  - id: answer
    model: auto
    prompt: "{{ inputs.q }}"
    max_tokens: 32
"""


def tandem(stack, *args):
    return subprocess.run([stack.tandem_bin, *args, "-c", str(stack.config_path)], capture_output=True, text=True,
                          env=stack.env, timeout=60)


def step_rows(ledger):
    db = sqlite3.connect(ledger)
    try:
        return [{"model": r[0], "reasons": r[1]} for r in
                db.execute("SELECT model, reasons FROM run_steps WHERE reasons != '' ORDER BY rowid")]
    finally:
        db.close()


def test_an_agent_step_is_drafted_by_the_slm_and_escalated_by_the_cascade(make_stack):
    stack = make_stack(learned=CASCADE)
    stack.slm.control(logprob=-2.0)  # exp(-2) = 0.135 < 0.5: every draft escalates
    r = tandem(stack, "agent", "Say hello to the team", "--tools", "clock")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "answer: cloud says" in r.stdout, r.stdout
    # The SLM drafted (a stream with logprobs, as the cascade asks), then the cloud answered.
    slm_bodies = [json.loads(b) for b in stack.slm.stats()["bodies"]]
    assert slm_bodies and all(b["logprobs"] is True and b["stream"] is True for b in slm_bodies)
    assert stack.cloud.stats()["requests"] >= 1
    # Every model step went through the cascade; the answer's (the last step's) draft escalated.
    rows = step_rows(stack.ledger)
    assert rows and all("; cascade " in s["reasons"] for s in rows), rows
    assert "cascade escalated: confidence 0.135 < 0.500" in rows[-1]["reasons"] and rows[-1]["model"] == "cloud-gpt"


def test_a_confident_draft_stands_for_a_workflow_step(make_stack, tmp_path):
    stack = make_stack(learned=CASCADE)
    stack.slm.control(logprob=-0.05)
    wf = tmp_path / "one-step.yaml"
    wf.write_text(WORKFLOW)
    r = tandem(stack, "run", str(wf), "-i", "q=hello there")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stack.cloud.stats()["requests"] == 0
    rows = step_rows(stack.ledger)
    assert len(rows) == 1 and rows[0]["model"] == "local-slm", rows
    assert "cascade accepted: confidence 0.951 >= 0.500" in rows[0]["reasons"], rows


def test_a_step_routed_to_an_unreachable_llm_is_answered_by_the_slm(make_stack, tmp_path):
    stack = make_stack(env_keys=False)  # no cloud keys: the LLM tier is unavailable
    wf = tmp_path / "one-step.yaml"
    wf.write_text(WORKFLOW)
    r = tandem(stack, "run", str(wf), "-i", "q=Write a python function that sorts a list")  # rule code-and-math
    assert r.returncode == 0, r.stdout + r.stderr
    rows = step_rows(stack.ledger)
    assert len(rows) == 1 and rows[0]["model"] == "local-slm", rows
    assert "rule code-and-math" in rows[0]["reasons"]
    assert "escalation to cloud-gpt unavailable; answered by local-slm" in rows[0]["reasons"], rows
    assert stack.cloud.stats()["requests"] == 0
