#!/usr/bin/env bash
# The whole test suite: install what is missing (Debian packages, the Python venv), build, run the unit
# tests and the end-to-end tests (real servers, the official openai client). Usage: scripts/test.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh --preset "$preset"
ulimit -n 65536 2>/dev/null || true
ctest --preset "$preset" --output-on-failure -j1
