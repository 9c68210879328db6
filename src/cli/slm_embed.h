// EmbedDataset: every prompt of a dataset through a GGUF model, as the SLM-scored router sees it (rendered with
// the model's chat template, final hidden states pooled: engine/generate/embed.h). `tandem train --encoder`
// learns a head from these rows and `tandem eval --router slm:<file>` scores with one. A cache file keeps rows
// across runs (keyed by prompt and encoder; an interrupted run keeps what it computed). Prompts longer than the
// context are left out, as the gateway would not score them. Not thread-safe; one call at a time.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"

namespace tandem {

struct EmbeddedDataset {
  eval::Dataset kept;                      // the prompts that fit, with their outcomes, costs and domains
  std::vector<std::vector<float>> rows;    // one pooled vector per kept prompt
  std::string encoder_id;                  // engine::EncoderId of the model
  size_t too_long = 0;                     // prompts left out
};

Result<EmbeddedDataset> EmbedDataset(const eval::Dataset& d, const std::string& encoder_path,
                                     const std::string& cache_path, int threads, int ctx);

}  // namespace tandem
