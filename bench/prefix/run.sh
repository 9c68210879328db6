#!/usr/bin/env bash
# bench/prefix: first token with a shared ~1,000-token prefix against cold, Tandem and llama-server, same run.
# Installs what it needs (the models; llama-server built from llama-cpp-python's sdist, once: ~10 min on 2 cores).
# Usage: bench/prefix/run.sh [--slots 8] [--model models/...gguf]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --with-llama-server
exec .venv/bin/python bench/prefix/bench.py "$@"
