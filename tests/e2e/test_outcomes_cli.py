"""`tandem outcomes`: the deployed SLM's own outcomes with its confidence signals, resumable; `tandem train
--signals` and `tandem eval --router signal:/confidence:` replay them."""
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared/data/routing/routerbench"
SMOL = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def tandem(request, *args):
    return subprocess.run([request.config.getoption("--tandem-bin"), *args], capture_output=True, text=True,
                          timeout=300)


def test_outcomes_are_scored_resumed_and_replayed(request, tmp_path):
    out = tmp_path / "arc.jsonl"
    args = ["outcomes", "--data", str(DATA / "arc_challenge_train.csv"), "--model", str(SMOL), "--out", str(out),
            "--limit", "4", "--seed", "3", "--judge"]
    r = tandem(request, *args)
    assert r.returncode == 0, r.stderr
    assert "answers scored as letter; 4 few-shot prompts cut to their final question" in r.stderr
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        assert row["cut"] and row["prompt"].endswith("Answer:") and "\n\n" not in row["prompt"]
        assert row["gold"] in "ABCD" and len(row["gold"]) == 1
        assert row["weak"] == (row["answer"] == row["gold"] and row["answer"] != "")
        sig = row["signals"]
        for k in ["first_prob", "first_margin", "mean_logprob", "min_logprob", "answer_tokens", "option_prob",
                  "option_margin", "option_entropy", "letter_mass", "judge_yes", "prompt_tokens"]:
            assert k in sig, k
        assert 0 < sig["first_prob"] <= 1 and 0.25 <= sig["option_prob"] <= 1 and 0 <= sig["judge_yes"] <= 1
    # A second run finds every prompt done and adds nothing.
    r = tandem(request, *args)
    assert r.returncode == 0 and "wrote 0 new outcomes" in r.stderr and len(out.read_text().splitlines()) == 4
    # Replayed by eval (a recorded signal) and by a confidence router trained on them.
    tcr = tmp_path / "r.tcr"
    r = tandem(request, "train", "--data", str(out), "--signals", "first_prob,option_prob", "--out", str(tcr))
    assert r.returncode == 0, r.stdout + r.stderr
    r = tandem(request, "eval", "--data", str(out), "--router", f"signal:-first_prob,confidence:{tcr}")
    if r.returncode == 0:  # PGR is undefined when the SLM and the strong model score alike on 4 prompts
        assert "signal:-first_prob" in r.stdout and f"confidence:{tcr}" in r.stdout and "AUROC" in r.stdout
    else:
        assert "PGR is undefined" in r.stderr
    r = tandem(request, "eval", "--data", str(out), "--router", "signal:nope")
    assert r.returncode != 0 and "no such signal" in r.stderr and "first_prob" in r.stderr


def test_free_form_answers_and_routellm_files_are_refused(request, tmp_path):
    r = tandem(request, "outcomes", "--data", str(DATA / "mbpp_train.csv"), "--model", str(SMOL), "--out",
               str(tmp_path / "x.jsonl"))
    assert r.returncode == 1 and "free-form" in r.stderr
    r = tandem(request, "outcomes", "--data", str(ROOT.parent / "shared/data/routing/routellm-mmlu"), "--model",
               str(SMOL), "--out", str(tmp_path / "x.jsonl"))
    assert r.returncode == 1 and "no gold answer" in r.stderr


def test_the_shipped_default_router_replays_the_committed_outcomes(request, tmp_path):
    import gzip
    data = tmp_path / "arc.jsonl"
    data.write_bytes(gzip.decompress((ROOT / "routers/outcomes/arc_challenge_train.qwen2.5-coder-1.5b.jsonl.gz")
                                     .read_bytes()))
    r = subprocess.run([request.config.getoption("--tandem-bin"), "eval", "--data", str(data), "--router",
                        "random,length,default"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("default"))
    length = next(l for l in r.stdout.splitlines() if l.startswith("length"))
    assert float(line.split()[1]) > float(length.split()[1]) + 0.10  # APGR: self-knowledge beats length on ARC
