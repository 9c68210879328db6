#!/usr/bin/env bash
# Builds what the gateway benchmark needs (release build, LiteLLM's proxy in .venv-bench) and runs it.
# Usage: bench/gateway/run.sh [--rates 250,500,1000] [--duration 5] [--streams 2000] [--no-litellm]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --preset release >/dev/null
command -v socat >/dev/null || { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq socat >/dev/null; } || true  # the null-proxy peer
if [[ ! -x .venv-bench/bin/litellm ]]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --disable-pip-version-check 'litellm[proxy]'
fi
ulimit -n "$(ulimit -Hn)"
exec .venv-bench/bin/python bench/gateway/bench.py "$@"
