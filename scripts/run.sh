#!/usr/bin/env bash
# The main job: install what is missing, build, start the local SLM server (SmolLM2 under llama.cpp's
# OpenAI-compatible server) and `tandem serve` on examples/tandem.yaml. Cloud keys come from
# OPENAI_API_KEY / ANTHROPIC_API_KEY; without them Tandem still serves, from the SLM.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-slm-server

slm_pid=""
cleanup() { [[ -n $slm_pid ]] && kill "$slm_pid" 2>/dev/null || true; }
trap cleanup EXIT
if ! curl -sf http://127.0.0.1:8081/v1/models >/dev/null 2>&1; then
  echo "run: starting the SLM server on 127.0.0.1:8081"
  .venv-slm/bin/python -m llama_cpp.server --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
    --model_alias smollm2-135m-instruct --host 127.0.0.1 --port 8081 --n_threads 2 --n_ctx 8192 \
    >slm-server.log 2>&1 &
  slm_pid=$!
  for _ in $(seq 1 120); do
    curl -sf http://127.0.0.1:8081/v1/models >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
echo "run: tandem serve on http://127.0.0.1:8080 (try: curl localhost:8080/v1/chat/completions -d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}')"
build/release/src/tandem serve -c examples/tandem.yaml
