"""`tandem eval-tools`: BFCL scoring through the real gateway path — 100% for a fake that answers from the ground
truth, 0% for one that spoils each answer, and no parse failures from a local model under constrained decoding."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import Fake

ROOT = Path(__file__).resolve().parents[2]
BFCL = ROOT.parent / "shared/data/agency/bfcl"
TINY_CATS = ["simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"]


def materialize(v):
    """A value in BFCL's answer format (dicts list allowed values per key) as a model would write it."""
    if isinstance(v, dict):
        return {k: materialize(next(o for o in opts if o != "")) for k, opts in v.items() if any(o != "" for o in opts)}
    if isinstance(v, list):
        return [materialize(x) for x in v]
    return v


def answers(wrong):
    """One scripted answer per BFCL case: its ground truth (or a spoiled one), keyed by the question."""
    out = []
    for cat in TINY_CATS:
        functions = {}
        for line in open(BFCL / f"BFCL_v4_{cat}.json"):
            c = json.loads(line)
            functions[c["id"]] = (c["question"][0][-1]["content"], c["function"])
        truth = {}
        if cat != "irrelevance":
            for line in open(BFCL / "possible_answer" / f"BFCL_v4_{cat}.json"):
                a = json.loads(line)
                truth[a["id"]] = a["ground_truth"]
        for cid, (prompt, fns) in functions.items():
            required = {(f["name"], r) for f in fns for r in f["parameters"].get("required", [])}
            calls = []
            for entry in truth.get(cid, []):
                (name, params), = entry.items()
                args = {}
                for p, opts in params.items():
                    if "" in opts and (name, p) not in required:
                        continue
                    args[p] = materialize(next(o for o in opts if o != ""))
                calls.append({"name": name.replace(".", "_"), "arguments": args})
            if wrong:
                if not calls:
                    calls = [{"name": fns[0]["name"].replace(".", "_"), "arguments": {}}]
                elif calls[0]["arguments"]:
                    k = next(iter(calls[0]["arguments"]))
                    v = calls[0]["arguments"][k]
                    calls[0]["arguments"][k] = (not v) if isinstance(v, bool) else \
                        v + 7 if isinstance(v, (int, float)) else f"{v} nope"
                else:
                    calls[0]["name"] += "_v2"
            out.append({"prompt": prompt, "tools": [f["name"].replace(".", "_") for f in fns], "tool_calls": calls})
    return out


CONFIG = """
server: {{listen: 127.0.0.1:0}}
ledger: {{path: {ledger}}}
models:
  - name: oracle
    provider: openai
    base_url: {oracle}/v1
    tier: llm
    price: {{input: 2.5, output: 10}}
  - name: spoiler
    provider: openai
    base_url: {spoiler}/v1
    tier: slm
    price: {{input: 0.1, output: 0.2}}
{extra}routing:
  default: slm
  slm: spoiler
  llm: oracle
  rules:
    - name: many-functions
      if: {{regex: "Also|also|and then|both"}}
      then: llm
"""


@pytest.mark.skipif(not BFCL.is_dir(), reason="../shared/data is not beside the checkout")
def test_scoring_agrees_with_the_ground_truth(request, tmp_path):
    fake_bin = request.config.getoption("--fake-bin")
    files = {}
    for name, wrong in [("right", False), ("wrong", True)]:
        files[name] = tmp_path / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps(a) + "\n" for a in answers(wrong)))
    oracle = Fake(fake_bin, "oracle", "--answers", str(files["right"]))
    spoiler = Fake(fake_bin, "spoiler", "--answers", str(files["wrong"]))
    try:
        cfg = tmp_path / "tandem.yaml"
        cfg.write_text(CONFIG.format(ledger=tmp_path / "l.db", oracle=oracle.url, spoiler=spoiler.url, extra=""))
        out = tmp_path / "cases.jsonl"
        r = subprocess.run([request.config.getoption("--tandem-bin"), "eval-tools", "-c", str(cfg), "--data", str(BFCL),
                            "--models", "oracle,spoiler,auto", "--limit", "40", "--out", str(out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        rows = {m.group(1): m.groups() for m in re.finditer(
            r"^(\S+)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)\s+([\d.]+)", r.stdout, re.M)}
        assert rows["oracle"][1] == "200" and rows["oracle"][2] == "100.0" and rows["oracle"][3] == "0.0", r.stdout
        assert rows["spoiler"][2] == "0.0" and rows["spoiler"][3] == "0.0", r.stdout
        # The routed system sends the multi-part questions to the oracle: somewhere between the two.
        assert 0 < float(rows["auto"][2]) < 100 and "served by: oracle" in r.stdout, r.stdout
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == 600 and all(x["correct"] for x in lines if x["model"] == "oracle")
        assert all(x["why"] for x in lines if x["model"] == "spoiler")
    finally:
        oracle.stop()
        spoiler.stop()


LOCAL = """
server: {{listen: 127.0.0.1:0}}
ledger: {{path: {ledger}}}
models:
  - name: slm
    provider: local
    gguf: {gguf}
    context: 4096
    tier: slm
    price: {{input: 0.01, output: 0.02}}
    timeouts: {{first_token_ms: 120000, total_ms: 300000}}
routing:
  default: slm
"""


@pytest.mark.skipif(not BFCL.is_dir(), reason="../shared/data is not beside the checkout")
def test_a_local_model_under_constrained_decoding_never_fails_to_parse(request, tmp_path):
    import sys
    sys.path.insert(0, str(ROOT / "tests/engine"))
    import gguf_tools
    gguf = tmp_path / "tiny.gguf"
    gguf_tools.write_tiny_model(str(gguf), "llama", gguf_tools.ALL_TYPES)  # random weights: the worst writer
    cfg = tmp_path / "tandem.yaml"
    cfg.write_text(LOCAL.format(ledger=tmp_path / "l.db", gguf=gguf))
    out = tmp_path / "cases.jsonl"
    r = subprocess.run([request.config.getoption("--tandem-bin"), "eval-tools", "-c", str(cfg), "--data", str(BFCL),
                        "--models", "slm", "--limit", "4", "--seed", "7", "--max-tokens", "48", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    row = re.search(r"^slm\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%", r.stdout, re.M)
    assert row and row.group(1) == "20" and row.group(3) == "0.0", r.stdout
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 20 and not any(x["parse_failure"] for x in lines)
    assert all(x["why"] == "" or not x["why"].startswith("call failed") for x in lines), lines
