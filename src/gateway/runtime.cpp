#include "gateway/runtime.h"

#include <algorithm>

#include "core/split.h"
#include "providers/http_client.h"
#include "route/choices.h"

namespace tandem {

std::string RouteQuestion(const std::vector<DescribedRoute>& routes) {
  std::string q = "You are a router. Classify the user's request into exactly one of these categories:\n";
  for (const auto& r : routes) q += "- " + r.name + ": " + r.description + "\n";
  q += "Do not answer the request. Reply with the category's name only.";
  return q;
}

Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Config config, const Clock& clock) {
  static std::atomic<uint64_t> generations{0};
  auto snap = std::make_shared<Snapshot>();
  snap->generation = ++generations;
  auto policy = RulesPolicy::Build(config);
  if (!policy.ok()) return policy.status();
  auto providers = ProviderSet::Build(config, clock);
  if (!providers.ok()) return providers.status();
  snap->policy = std::move(policy.value());
  snap->providers = std::move(providers.value());
  snap->pii = std::make_unique<PiiDetector>(config.routing.pii_kinds);
  if (const RoutingConfig& rc = config.routing; !rc.slm_scored_router.empty()) {
    const std::string where = config.path + ":" + std::to_string(rc.slm_scored_line) + ": routing.slm_scored.router: ";
    auto head = SlmHead::Load(rc.slm_scored_router);
    if (!head.ok()) return Status(Code::kInvalidArgument, where + head.status().message());
    auto* encoder = dynamic_cast<LocalProvider*>(snap->providers->get(rc.slm_scored_model));
    if (!encoder) return Status(Code::kInvalidArgument, where + "'" + rc.slm_scored_model + "' is not an in-process model");
    if (encoder->encoder_id() != head->encoder_id())
      return Status(Code::kInvalidArgument, where + "trained on '" + head->encoder_id() + "', but " +
                                                rc.slm_scored_model + " is '" + encoder->encoder_id() + "'");
    snap->slm_head = std::make_unique<SlmHead>(std::move(head.value()));
    snap->slm_encoder = encoder;
  }
  if (const CascadeConfig& cc = config.routing.cascade; !cc.router.empty()) {
    const std::string where = config.path + ":" + std::to_string(cc.router_line) + ": routing.cascade.router: ";
    auto router = ConfidenceRouter::Load(cc.router);
    if (!router.ok()) return Status(Code::kInvalidArgument, where + router.status().message());
    // A router learns one model's self-knowledge: refuse it for another in-process SLM.
    auto* slm = dynamic_cast<LocalProvider*>(snap->providers->get(config.routing.slm_model));
    if (slm && slm->encoder_id() != router->slm())
      return Status(Code::kInvalidArgument, where + "trained for '" + router->slm() + "', but " +
                                                config.routing.slm_model + " is '" + slm->encoder_id() + "'");
    // Each signal it reads must be one a draft carries (the perm_* ones need an in-process SLM to ask again);
    // else it would be taken at its training mean, silently.
    std::vector<std::string> known = DraftSignalNames();
    const auto& perm = PermutationSignalNames();
    if (slm) known.insert(known.end(), perm.begin(), perm.end());
    for (const std::string& name : router->signals()) {
      if (std::find(known.begin(), known.end(), name) == known.end())
        return Status(Code::kInvalidArgument, where + "it reads the signal '" + name + "', which a draft does not "
                                                  "carry (drafts " + (slm ? "" : "of a model not served in-process ") +
                                                  "carry " + JoinComma(known) + ")");
      if (std::find(perm.begin(), perm.end(), name) != perm.end()) snap->cascade_prober = slm;
    }
    snap->cascade_router = std::make_unique<ConfidenceRouter>(std::move(router.value()));
  }
  if (const RoutingConfig& rc = config.routing; !rc.routes.empty()) {
    snap->route_scorer = dynamic_cast<LocalProvider*>(snap->providers->get(rc.slm_model));
    if (!snap->route_scorer)
      return Status(Code::kInvalidArgument, config.path + ": routing.routes: '" + rc.slm_model +
                                                "' is not an in-process model");
    snap->route_question = RouteQuestion(rc.routes);
    for (size_t i = 0; i < rc.routes.size(); ++i) {
      snap->route_names.push_back(rc.routes[i].name);
      for (const auto& e : rc.routes[i].examples) {
        snap->route_examples.push_back(ChatMessage{"user", "Request:\n" + e});
        snap->route_examples.push_back(ChatMessage{"assistant", rc.routes[i].name});
      }
    }
    snap->route_prior = std::make_shared<RoutePrior>();
  }
  snap->config = std::move(config);
  snap->baseline = snap->config.find(snap->config.routing.llm_model);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Runtime::~Runtime() {
  std::lock_guard<std::mutex> lock(background_mu_);
  if (!background_io_) return;
  background_work_.reset();
  background_io_->stop();
  background_thread_.join();
}

asio::any_io_executor Runtime::background() {
  std::lock_guard<std::mutex> lock(background_mu_);
  if (!background_io_) {
    background_io_ = std::make_unique<asio::io_context>(1);
    background_work_.emplace(background_io_->get_executor());
    background_thread_ = std::thread([io = background_io_.get()] {
      io->run();
      ClearConnectionPool();  // this thread's pooled upstream connections, before their loop goes
    });
  }
  return background_io_->get_executor();
}

}  // namespace tandem
