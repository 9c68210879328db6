#include "gateway/runtime.h"

namespace tandem {

Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Config config, const Clock& clock) {
  auto snap = std::make_shared<Snapshot>();
  auto policy = RulesPolicy::Build(config);
  if (!policy.ok()) return policy.status();
  auto providers = ProviderSet::Build(config, clock);
  if (!providers.ok()) return providers.status();
  snap->policy = std::move(policy.value());
  snap->providers = std::move(providers.value());
  snap->pii = std::make_unique<PiiDetector>(config.routing.pii_kinds);
  snap->config = std::move(config);
  snap->baseline = snap->config.find(snap->config.routing.llm_model);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace tandem
