"""`tandem eval` on the shared routing data reproduces RouteLLM's published reference figures."""
import re
import subprocess
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared/data/routing"


@pytest.mark.skipif(not (DATA / "routellm-mmlu").is_dir(), reason="../shared/data is not beside the checkout")
def test_mmlu_reference_figures(request, tmp_path):
    plot = tmp_path / "mmlu.svg"
    r = subprocess.run([request.config.getoption("--tandem-bin"), "eval", "--data", str(DATA / "routellm-mmlu"),
                        "--router", "random,length", "--plot", str(plot)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # The data README: n = 14,037 after decontamination, weak 68.09%, strong 80.59%; "longer prompts to the
    # strong model" gets APGR 0.584 and CPT(50%) 36.7%; the oracle needs 6.25% strong calls for CPT(50%).
    assert "14037 prompts" in r.stdout and "68.09%" in r.stdout and "80.59%" in r.stdout
    rows = {m.group(1): m.group(2).split() for m in re.finditer(r"^(random|length|oracle)\s+(.*)$", r.stdout, re.M)}
    assert abs(float(rows["length"][0]) - 0.584) < 0.001 and rows["length"][5] == "36.63%"
    assert rows["oracle"][5] == "6.25%"
    assert abs(float(rows["random"][0]) - 0.5) < 0.03
    svg = plot.read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 3 and "length" in svg


@pytest.mark.skipif(not (DATA / "routerbench").is_dir(), reason="../shared/data is not beside the checkout")
def test_routerbench_and_errors(request, tmp_path):
    tandem = request.config.getoption("--tandem-bin")
    r = subprocess.run([tandem, "eval", "--data", str(DATA / "routerbench/arc_challenge_train.csv")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "weak mistralai/mistral-7b-chat" in r.stdout and "left out" in r.stdout
    r = subprocess.run([tandem, "eval", "--data", str(DATA / "routerbench/mbpp_train.csv"), "--weak", "nope"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no column for weak model 'nope'" in r.stderr
    assert "its model columns: WizardLM/WizardLM-13B-V1.2, claude-instant-v1," in r.stderr, r.stderr


@pytest.mark.skipif(not (DATA / "routellm-mmlu").is_dir(), reason="../shared/data is not beside the checkout")
def test_train_beats_the_length_baseline_on_held_out_prompts(request, tmp_path):
    tandem = request.config.getoption("--tandem-bin")
    model = tmp_path / "mmlu.tlr"
    r = subprocess.run([tandem, "train", "--data", str(DATA / "routellm-mmlu"), "--out", str(model), "--seed", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    apgr = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(random|length|model:\S+)\s+([\d.]+)", r.stdout, re.M)}
    learned = apgr[f"model:{model}"]
    # Seed 1 held out: 0.651 (src/eval/README.md); the pooled targets name the domain they were pooled by.
    assert learned > apgr["length"] + 0.05 and learned > 0.64, r.stdout
    assert "pooled 0.75 toward each prompt's domain (57 domains)" in r.stdout  # the 57 MMLU subjects
    again = subprocess.run([tandem, "eval", "--data", str(DATA / "routellm-mmlu"), "--router", f"model:{model}"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and f"model:{model}" in again.stdout
    # --scores-out keeps the router's per-prompt scores; replaying them gives the same figures.
    scores = tmp_path / "scores.jsonl"
    saved = subprocess.run([tandem, "eval", "--data", str(DATA / "routerbench/arc_challenge_train.csv"),
                            "--router", f"model:{model}", "--scores-out", str(scores)],
                           capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0, saved.stderr
    replay = subprocess.run([tandem, "eval", "--data", str(scores), "--router", "scores"],
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    row = lambda out, name: re.search(rf"^{re.escape(name)}\s+(.*)$", out, re.M).group(1).split()
    assert row(replay.stdout, "scores") == row(saved.stdout, f"model:{model}")
    assert len(scores.read_text().splitlines()) == int(re.search(r"(\d+) prompts", saved.stdout).group(1))
    two = subprocess.run([tandem, "eval", "--data", str(scores), "--router", "scores,length", "--scores-out",
                          str(tmp_path / "x.jsonl")], capture_output=True, text=True, timeout=60)
    assert two.returncode == 2 and "one router" in two.stderr
    none = subprocess.run([tandem, "eval", "--data", str(scores), "--router", "", "--scores-out",
                           str(tmp_path / "x.jsonl")], capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "needs a router" in none.stderr and not (tmp_path / "x.jsonl").exists()
    model.write_bytes(model.read_bytes()[:100])
    bad = subprocess.run([tandem, "eval", "--data", str(DATA / "routellm-mmlu"), "--router", f"model:{model}"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "truncated" in bad.stderr
