#!/usr/bin/env python3
"""Builds the labelled mix that `tandem eval-routes` measures described routes on, from the shared routing data
(read in place): {"prompt", "route"} per line, N per route, interleaved by route (any first lines are balanced), shuffled with a fixed seed.

  code        RouterBench MBPP task statements ("Write a function to ...")
  math        word problems and calculations to solve: MMLU's elementary and high-school mathematics and
              statistics questions with their options taken away (those that ask "which of the following" left out)
  knowledge   multiple-choice knowledge questions with their lettered options: RouterBench ARC-Challenge (cut to
              the final question) and MMLU, every subject (its math subjects too, as they come)
  writing     templated requests (essay, poem, email, story, ...) on topics taken from MMLU subjects and ARC
  extraction  templated requests (pull the numbers / names / options / terms out of a text) over ARC and
              Winogrande passages

The writing and extraction prompts are templated here (the shared data holds none), so their figures say less
than the other three's. Usage: bench/routes/make_mix.py [--per-route 60] [--seed 7] > mix.jsonl
"""
import argparse
import ast
import csv
import glob
import json
import os
import random
import sys

csv.field_size_limit(10**9)
ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "routing")
MATH = {"elementary_mathematics", "high_school_mathematics", "high_school_statistics"}
WRITING = ["Write a short essay about {t}.", "Write a poem about {t}.",
           "Draft a friendly email to my team announcing a workshop on {t}.",
           "Write a children's story that teaches {t}.", "Write a persuasive blog post on why everyone should learn {t}.",
           "Compose a toast for a retirement party of a professor of {t}.",
           "Write a product description for an online course on {t}.",
           "Rewrite this sentence to sound more formal: \"{q}\""]
EXTRACTION = ["Extract every number that appears in the following text and return them as a JSON list:\n\n{q}",
              "List the names of all people, places and organisations mentioned in this text:\n\n{q}",
              "From the passage below, extract the answer options as a JSON array of strings:\n\n{q}",
              "Pull out the key terms from this text, one per line, without explanations:\n\n{q}",
              "Return a JSON object with the fields question and options taken from this text:\n\n{q}"]


def routerbench(name):
    with open(os.path.join(ROOT, "routerbench", name)) as f:
        for row in csv.DictReader(f):
            p = row["prompt"]
            try:
                p = ast.literal_eval(p)[0]
            except (ValueError, SyntaxError):
                pass
            yield p.split("\n\n")[-1].strip()


def mmlu():
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "routellm-mmlu", "mmlu_*.csv"))):
        subject = os.path.basename(path)[5:-4]
        with open(path) as f:
            out[subject] = [row["prompt"].strip() for row in csv.DictReader(f)]
    return out


def strip_instructions(q):
    return q.split("\nPrint only")[0].replace("Answer:", "").strip()


def without_options(q):
    """The question of an MMLU prompt, its lettered options and trailing "Answer:" removed ("" if none is left)."""
    lines = []
    for line in q.split("\n"):
        if len(line) > 1 and line[0] in "ABCD" and line[1] in ".)":
            break
        lines.append(line)
    return "\n".join(lines).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-route", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    n = a.per_route
    subjects = mmlu()
    arc = list(routerbench("arc_challenge_train.csv"))
    wino = list(routerbench("winograde_train.csv"))
    mix = []
    mix += [(p, "code") for p in rng.sample(list(routerbench("mbpp_train.csv")), n)]
    math = [without_options(q) for s in sorted(MATH) for q in subjects[s] if "following" not in q.lower()]
    mix += [(p, "math") for p in rng.sample([q for q in math if q], n)]
    every = [q for s in sorted(subjects) for q in subjects[s]]
    mix += [(p, "knowledge") for p in rng.sample(arc, n // 2) + rng.sample(every, n - n // 2)]
    topics = [s.replace("_", " ").replace("high school ", "").replace("college ", "") for s in subjects]
    for _ in range(n):
        t = rng.choice(WRITING)
        mix.append((t.format(t=rng.choice(topics), q=strip_instructions(rng.choice(wino)).split("\n")[0]), "writing"))
    for _ in range(n):
        mix.append((rng.choice(EXTRACTION).format(q=strip_instructions(rng.choice(arc + wino))), "extraction"))
    # Interleaved by route (each route's prompts shuffled), so that any first N lines (--limit) are balanced.
    by_route = {}
    for p, r in mix:
        by_route.setdefault(r, []).append(p)
    for ps in by_route.values():
        rng.shuffle(ps)
    names = sorted(by_route)
    rng.shuffle(names)
    mix = [(by_route[r][i], r) for i in range(n) for r in names]
    for p, r in mix:
        sys.stdout.write(json.dumps({"prompt": p, "route": r}) + "\n")


if __name__ == "__main__":
    main()
