#!/usr/bin/env bash
# bench/engine: Tandem's engine against llama.cpp on SmolLM2-135M, Gemma3-270M and Qwen2.5-Coder-0.5B/1.5B,
# same run, same threads. Installs what it needs (the models; llama.cpp built once from llama-cpp-python's sdist:
# about ten minutes on 2 cores).
# Usage: bench/engine/run.sh [--threads N] [--rounds N] [--reps N] [--models ...]. Writes bench/engine/RESULTS.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --with-llama-server
exec .venv/bin/python bench/engine/bench.py "$@"
