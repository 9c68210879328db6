// EmbedPrompt: a prompt's fixed-size representation from the model's own final hidden states, for routers that
// use the small model as their encoder.
//
// Runs the whole prompt through the session (Prefill with hidden states, so the KV cache then holds exactly this
// prompt and a generation that follows reuses it), and pools the per-token final (normalized) hidden states into
// [mean over tokens ‖ last token]: 2 * n_embd floats. EncoderId() names the model a pooled vector belongs to, so
// a head trained on one model is never applied to another. Not thread-safe (it drives the session).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model/model.h"

namespace tandem::engine {

Result<std::vector<float>> EmbedPrompt(Session& session, const std::vector<int32_t>& prompt);

// "<general.name>|<arch>|<n_layer>x<n_embd>|<n_vocab>".
std::string EncoderId(const Model& model);

}  // namespace tandem::engine
