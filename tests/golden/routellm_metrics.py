#!/usr/bin/env python3
"""Writes routellm_metrics.json: quality-cost curves and metrics for fixed score vectors, computed with the
same pandas/numpy routines RouteLLM's evaluator uses (pd.qcut bin edges, >= / > selection, np.interp for the
CPT figures, trapezoidal AUC and APGR). tandem's C++ evaluator must reproduce these figures.
Run with a Python that has pandas and numpy:  python tests/golden/routellm_metrics.py"""
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd


def curve(scores, weak, strong, num_results=10):
    scores = pd.Series(scores)
    _, thresholds = pd.qcut(scores, num_results, retbins=True)
    rows = []
    for i, t in enumerate(thresholds):
        sel = scores >= t if i != len(thresholds) - 1 else scores > t
        res = np.where(sel, strong, weak)
        rows.append({"threshold": float(t), "strong_percentage": float(sel.sum() / len(sel) * 100),
                     "accuracy": float(res.sum() / len(res) * 100)})
    return rows


def metrics(rows, weak_acc, strong_acc):
    df = pd.DataFrame(rows).sort_values(by=["strong_percentage"])
    cpt = [float(np.interp(p * (strong_acc - weak_acc) + weak_acc, df["accuracy"], df["strong_percentage"]))
           for p in (0.2, 0.5, 0.8)]
    x = df["strong_percentage"] / 100
    auc = float(np.trapezoid(df["accuracy"], x))
    weak_auc = float(np.trapezoid(np.full(len(df), weak_acc), x))
    strong_auc = float(np.trapezoid(np.full(len(df), strong_acc), x))
    return {"cpt20": cpt[0], "cpt50": cpt[1], "cpt80": cpt[2], "auc": auc,
            "apgr": (auc - weak_auc) / (strong_auc - weak_auc)}


def case(name, n, seed, ties=False):
    rng = random.Random(seed)
    weak = [rng.random() < 0.6 for _ in range(n)]
    strong = [rng.random() < 0.8 for _ in range(n)]
    # Scores loosely informative: higher where the weak model fails.
    scores = [(0.3 if not w else 0.0) + rng.random() for w in weak]
    if ties:
        scores = [round(s, 1) for s in scores]
    weak_acc = sum(weak) / n * 100
    strong_acc = sum(strong) / n * 100
    rows = curve(scores, np.array(weak), np.array(strong))
    return {"name": name, "scores": scores, "weak": weak, "strong": strong, "weak_acc": weak_acc,
            "strong_acc": strong_acc, "curve": rows, "metrics": metrics(rows, weak_acc, strong_acc)}


cases = [case("informative-200", 200, 1), case("small-37", 37, 2), case("noisy-500", 500, 3),
         case("ties-300", 300, 4, ties=True)]
# A router with no signal at all: accuracy is not monotonic in the share, which exercises np.interp's search.
rng = random.Random(5)
weak = [rng.random() < 0.5 for _ in range(150)]
strong = [rng.random() < 0.55 for _ in range(150)]
scores = [rng.random() for _ in range(150)]
wa, sa = sum(weak) / 150 * 100, sum(strong) / 150 * 100
rows = curve(scores, np.array(weak), np.array(strong))
cases.append({"name": "random-150", "scores": scores, "weak": weak, "strong": strong, "weak_acc": wa,
              "strong_acc": sa, "curve": rows, "metrics": metrics(rows, wa, sa)})
out = Path(__file__).with_suffix(".json")
out.write_text(json.dumps({"numpy": np.__version__, "pandas": pd.__version__, "cases": cases}, indent=1))
print("wrote", out, [c["metrics"] for c in cases])
