#!/usr/bin/env bash
# bench/engine: Tandem's engine against llama.cpp on SmolLM2-135M and Gemma3-270M, same run, same threads.
# Installs what it needs (the models; llama-cpp-python in .venv-slm, built once: several minutes on 2 cores).
# Usage: bench/engine/run.sh [--threads N] [--rounds N] [--reps N] [--models ...]. Writes bench/engine/RESULTS.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --with-slm-server
exec .venv/bin/python bench/engine/bench.py "$@"
