// Traces of runs: the same record for both agency patterns, as text for people and as OpenTelemetry JSON.
//
// TraceText() prints a run's step tree (children under their parent step) with each step's status, model, tier,
// route reasons, tokens, cost and time, then the totals. OtelJson() renders the run as one OTLP/JSON trace
// (`resourceSpans`, the shape an OpenTelemetry collector's HTTP receiver takes): a root span for the run
// (`invoke_agent` / `invoke_workflow`) and a child span per step, model steps named "chat <model>" with the GenAI
// semantic conventions' attributes (gen_ai.operation.name, gen_ai.request.model, gen_ai.response.model,
// gen_ai.usage.input_tokens / output_tokens), tool steps "execute_tool <name>", plus tandem.* attributes for the
// route decision, tier and cost. Ids are derived from the run id and step keys, so an export is reproducible.
// Pure functions.
#pragma once

#include <string>
#include <vector>

#include "agency/run_store.h"

namespace tandem::agency {

std::string TraceText(const RunRecord& run, const std::vector<StepRecord>& steps);
std::string OtelJson(const RunRecord& run, const std::vector<StepRecord>& steps);
// The run and its steps as the API returns them: {"id", "kind", "name", "status", ..., "steps": [...]}.
std::string RunJson(const RunRecord& run, const std::vector<StepRecord>& steps);

}  // namespace tandem::agency
