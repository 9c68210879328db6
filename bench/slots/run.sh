#!/usr/bin/env bash
# bench/slots: Tandem's local tier under concurrency against llama.cpp's llama-server, same run, same threads.
# Installs what it needs (the models; llama-server built from llama-cpp-python's sdist, once: ~10 min on 2 cores).
# Usage: bench/slots/run.sh [--n 8] [--rounds 2] [--model models/...gguf]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --with-llama-server
exec .venv/bin/python bench/slots/bench.py "$@"
