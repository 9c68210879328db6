#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/read_file.h"

namespace tandem {
namespace {

// Thrown inside the parser only; converted to a Status at the API boundary (start-up code).
struct ConfigError {
  int line;
  std::string msg;
};

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

[[noreturn]] void Fail(const YAML::Node& n, const std::string& path, const std::string& what) {
  throw ConfigError{LineOf(n), path + ": " + what};
}

void CheckKeys(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> allowed) {
  if (!n.IsMap()) Fail(n, path, "expected a mapping");
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = it->first.as<std::string>();
    bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; });
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      Fail(it->first, path, "unknown key '" + k + "' (allowed: " + list + ")");
    }
  }
}

std::string Str(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) Fail(n, path, "expected a string");
  return n.as<std::string>();
}

int64_t Int(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi) {
  int64_t v;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) Fail(n, path, "expected an integer");
  if (v < lo || v > hi) {
    Fail(n, path, std::to_string(v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

double Num(const YAML::Node& n, const std::string& path) {
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) Fail(n, path, "expected a number");
  if (v < 0) Fail(n, path, "must not be negative");
  return v;
}

bool Bool(const YAML::Node& n, const std::string& path) {
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) Fail(n, path, "expected true or false");
  return v;
}

std::vector<std::string> StrList(const YAML::Node& n, const std::string& path) {
  std::vector<std::string> out;
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) Fail(n, path, "expected a list of strings");
  for (size_t i = 0; i < n.size(); ++i) out.push_back(Str(n[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

std::string Resolve(const std::string& config_path, const std::string& p) {
  namespace fs = std::filesystem;
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(config_path).parent_path() / p).lexically_normal().string();
}

void ParseServer(const YAML::Node& n, Config& c) {
  CheckKeys(n, "server", {"listen", "workers", "max_body_bytes", "busy_poll_us"});
  if (n["busy_poll_us"])
    c.server.busy_poll_us = static_cast<int>(Int(n["busy_poll_us"], "server.busy_poll_us", 0, 100000));
  if (n["listen"]) {
    std::string listen = Str(n["listen"], "server.listen");
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
      Fail(n["listen"], "server.listen", "expected host:port, got '" + listen + "'");
    c.server.host = listen.substr(0, colon);
    if (c.server.host.size() > 2 && c.server.host.front() == '[') {
      c.server.host = c.server.host.substr(1, c.server.host.size() - 2);
    }
    try {
      size_t used = 0;
      int port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("port");
      c.server.port = port;
    } catch (const std::exception&) {
      Fail(n["listen"], "server.listen", "port must be a number in [0, 65535], got '" + listen + "'");
    }
  }
  if (n["workers"]) c.server.workers = static_cast<int>(Int(n["workers"], "server.workers", 1, 256));
  if (n["max_body_bytes"]) {
    c.server.max_body_bytes =
        static_cast<size_t>(Int(n["max_body_bytes"], "server.max_body_bytes", 1024, int64_t{1} << 30));
  }
}

void ParseAuth(const YAML::Node& n, Config& c, const EnvLookup& env) {
  CheckKeys(n, "auth", {"keys", "keys_file"});
  std::set<std::string> ids;
  if (n["keys"]) {
    const YAML::Node& keys = n["keys"];
    if (!keys.IsSequence()) Fail(keys, "auth.keys", "expected a list");
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string p = "auth.keys[" + std::to_string(i) + "]";
      CheckKeys(keys[i], p, {"id", "key_env"});
      if (!keys[i]["id"]) Fail(keys[i], p, "'id' is required");
      if (!keys[i]["key_env"])
        Fail(keys[i], p, "'key_env' is required (keys are never written in the config)");
      ClientKey k{Str(keys[i]["id"], p + ".id"), ""};
      std::string var = Str(keys[i]["key_env"], p + ".key_env");
      const char* v = env(var.c_str());
      if (!v || !*v) Fail(keys[i]["key_env"], p + ".key_env", "environment variable " + var + " is not set");
      k.key = v;
      if (!ids.insert(k.id).second) Fail(keys[i]["id"], p + ".id", "duplicate key id '" + k.id + "'");
      c.keys.push_back(std::move(k));
    }
  }
  if (n["keys_file"]) {
    std::string file = Resolve(c.path, Str(n["keys_file"], "auth.keys_file"));
    YAML::Node kf;
    try {
      kf = YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
      Fail(n["keys_file"], "auth.keys_file", "cannot read '" + file + "'");
    } catch (const YAML::Exception& e) {
      Fail(n["keys_file"], "auth.keys_file",
           "'" + file + "' line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!kf.IsMap()) Fail(n["keys_file"], "auth.keys_file", "'" + file + "' must map key ids to keys");
    for (auto it = kf.begin(); it != kf.end(); ++it) {
      ClientKey k{it->first.as<std::string>(), it->second.as<std::string>()};
      if (!ids.insert(k.id).second) Fail(n["keys_file"], "auth.keys_file", "duplicate key id '" + k.id + "'");
      c.keys.push_back(std::move(k));
    }
  }
}

ModelInfo ParseModel(const YAML::Node& n, const std::string& p, const EnvLookup& env,
                     const std::string& config_path) {
  CheckKeys(n, p,
            {"name", "provider", "base_url", "model", "api_key_env", "tier", "locality", "price", "context",
             "timeouts", "retry", "breaker", "fallbacks", "tls_ca_file", "gguf", "threads", "slots", "queue",
             "kv_budget_mb", "prefix_cache_mb"});
  ModelInfo m;
  m.config_line = LineOf(n);
  if (!n["name"]) Fail(n, p, "'name' is required");
  m.name = Str(n["name"], p + ".name");
  if (m.name.empty() || m.name == "auto") Fail(n["name"], p + ".name", "'" + m.name + "' is reserved");
  std::string prov = n["provider"] ? Str(n["provider"], p + ".provider") : "openai";
  if (prov == "openai") {
    m.provider = ProviderKind::kOpenAi;
  } else if (prov == "anthropic") {
    m.provider = ProviderKind::kAnthropic;
  } else if (prov == "local") {
    m.provider = ProviderKind::kLocalEngine;
  } else {
    Fail(n["provider"], p + ".provider", "'" + prov + "' is not one of openai, anthropic, local");
  }
  if (m.provider == ProviderKind::kLocalEngine) {
    // In-process engine: a GGUF file instead of a URL.
    if (n["base_url"]) Fail(n["base_url"], p + ".base_url", "a local model has no base_url; give 'gguf: <file>'");
    if (!n["gguf"]) Fail(n, p, "'gguf' (the model file) is required for provider local");
    m.gguf_path = Resolve(config_path, Str(n["gguf"], p + ".gguf"));
    if (!std::filesystem::exists(m.gguf_path)) Fail(n["gguf"], p + ".gguf", "no such file: " + m.gguf_path);
    if (n["threads"]) m.threads = static_cast<int>(Int(n["threads"], p + ".threads", 1, 256));
    if (n["slots"]) m.slots = static_cast<int>(Int(n["slots"], p + ".slots", 1, 256));
    if (n["queue"]) m.queue = static_cast<int>(Int(n["queue"], p + ".queue", 0, 100000));
    if (n["kv_budget_mb"]) m.kv_budget_mb = Int(n["kv_budget_mb"], p + ".kv_budget_mb", 1, 1 << 24);
    if (n["prefix_cache_mb"]) m.prefix_cache_mb = Int(n["prefix_cache_mb"], p + ".prefix_cache_mb", 0, 1 << 24);
  } else {
    for (const char* key : {"slots", "queue", "kv_budget_mb", "prefix_cache_mb"})
      if (n[key]) Fail(n[key], p + "." + key, "only a local model has slots, a queue, a KV budget and a prefix cache");
    if (n["gguf"]) Fail(n["gguf"], p + ".gguf", "only a local model reads a GGUF file");
    if (n["threads"]) Fail(n["threads"], p + ".threads", "only a local model has compute threads");
    if (!n["base_url"]) Fail(n, p, "'base_url' is required");
    m.base_url = Str(n["base_url"], p + ".base_url");
    if (m.base_url.rfind("http://", 0) != 0 && m.base_url.rfind("https://", 0) != 0) {
      Fail(n["base_url"], p + ".base_url", "must start with http:// or https://");
    }
    while (!m.base_url.empty() && m.base_url.back() == '/') m.base_url.pop_back();
  }
  m.upstream_model = n["model"] ? Str(n["model"], p + ".model") : m.name;
  if (n["tls_ca_file"]) {
    if (m.base_url.rfind("https://", 0) != 0)
      Fail(n["tls_ca_file"], p + ".tls_ca_file", "needs an https:// base_url");
    m.tls_ca_file = Resolve(config_path, Str(n["tls_ca_file"], p + ".tls_ca_file"));
    if (!std::filesystem::exists(m.tls_ca_file)) {
      Fail(n["tls_ca_file"], p + ".tls_ca_file", "no such file: " + m.tls_ca_file);
    }
  }
  if (n["api_key_env"]) {
    m.api_key_env = Str(n["api_key_env"], p + ".api_key_env");
    const char* v = env(m.api_key_env.c_str());
    if (v && *v) {
      m.api_key = v;
    } else {
      m.unavailable = "environment variable " + m.api_key_env + " is not set";
    }
  }
  std::string tier = n["tier"] ? Str(n["tier"], p + ".tier") : "";
  if (tier == "slm") {
    m.tier = Tier::kSlm;
  } else if (tier == "llm") {
    m.tier = Tier::kLlm;
  } else {
    Fail(n["tier"] ? n["tier"] : n, p + ".tier", "expected 'slm' or 'llm', got '" + tier + "'");
  }
  std::string loc =
      n["locality"] ? Str(n["locality"], p + ".locality") : (m.tier == Tier::kSlm ? "local" : "cloud");
  if (loc == "local") {
    m.locality = Locality::kLocal;
  } else if (loc == "cloud") {
    m.locality = Locality::kCloud;
  } else {
    Fail(n["locality"], p + ".locality", "expected 'local' or 'cloud', got '" + loc + "'");
  }
  if (n["price"]) {
    CheckKeys(n["price"], p + ".price", {"input", "output"});
    if (n["price"]["input"]) m.usd_per_mtok_in = Num(n["price"]["input"], p + ".price.input");
    if (n["price"]["output"]) m.usd_per_mtok_out = Num(n["price"]["output"], p + ".price.output");
  }
  if (n["context"]) m.context = static_cast<int>(Int(n["context"], p + ".context", 1, 100'000'000));
  if (const YAML::Node& t = n["timeouts"]) {
    CheckKeys(t, p + ".timeouts", {"connect_ms", "first_token_ms", "total_ms"});
    if (t["connect_ms"]) m.timeouts.connect_ms = Int(t["connect_ms"], p + ".timeouts.connect_ms", 1, 600000);
    if (t["first_token_ms"]) {
      m.timeouts.first_token_ms = Int(t["first_token_ms"], p + ".timeouts.first_token_ms", 1, 3600000);
    }
    if (t["total_ms"]) m.timeouts.total_ms = Int(t["total_ms"], p + ".timeouts.total_ms", 1, 86400000);
  }
  if (const YAML::Node& r = n["retry"]) {
    CheckKeys(r, p + ".retry", {"max_attempts", "base_backoff_ms", "max_backoff_ms"});
    if (r["max_attempts"]) m.retry.max_attempts = Int(r["max_attempts"], p + ".retry.max_attempts", 1, 10);
    if (r["base_backoff_ms"]) {
      m.retry.base_backoff_ms = Int(r["base_backoff_ms"], p + ".retry.base_backoff_ms", 0, 60000);
    }
    if (r["max_backoff_ms"])
      m.retry.max_backoff_ms = Int(r["max_backoff_ms"], p + ".retry.max_backoff_ms", 0, 600000);
  }
  if (const YAML::Node& b = n["breaker"]) {
    CheckKeys(b, p + ".breaker", {"failure_threshold", "cooldown_ms"});
    if (b["failure_threshold"]) {
      m.breaker.failure_threshold = Int(b["failure_threshold"], p + ".breaker.failure_threshold", 1, 1000);
    }
    if (b["cooldown_ms"])
      m.breaker.cooldown_ms = Int(b["cooldown_ms"], p + ".breaker.cooldown_ms", 1, 3600000);
  }
  if (n["fallbacks"]) m.fallbacks = StrList(n["fallbacks"], p + ".fallbacks");
  return m;
}

void CheckTarget(const Config& c, const YAML::Node& at, const std::string& p, const std::string& target) {
  if (target == "slm" || target == "llm" || c.find(target)) return;
  Fail(at, p, "'" + target + "' is neither 'slm', 'llm' nor a configured model");
}

// A `target_llm_share` (for `tandem calibrate` and the drift report): the value and where it is written.
void TargetShare(const YAML::Node& n, const std::string& path, RoutingConfig& r) {
  r.target_llm_share = Num(n, path);
  r.target_line = LineOf(n);
  if (r.target_llm_share > 1) Fail(n, path, "must be in [0, 1]");
}

void ParseRouting(const YAML::Node& n, Config& c) {
  CheckKeys(n, "routing", {"default", "slm", "llm", "aliases", "privacy", "pii", "rules", "learned", "tradeoff", "cascade",
                           "slm_scored", "shadow", "routes"});
  RoutingConfig& r = c.routing;
  r.line = LineOf(n);
  r.pii_kinds = AllPiiKinds();
  if (n["slm"]) r.slm_model = Str(n["slm"], "routing.slm");
  if (n["llm"]) r.llm_model = Str(n["llm"], "routing.llm");
  for (auto [name, tier, node] :
       {std::tuple{&r.slm_model, Tier::kSlm, n["slm"]}, std::tuple{&r.llm_model, Tier::kLlm, n["llm"]}}) {
    if (name->empty()) {  // first model of that tier
      for (const auto& m : c.models) {
        if (m.tier == tier) {
          *name = m.name;
          break;
        }
      }
      continue;
    }
    const ModelInfo* m = c.find(*name);
    if (!m) Fail(node, std::string("routing.") + TierName(tier), "no model named '" + *name + "'");
    if (m->tier != tier) {
      Fail(node, std::string("routing.") + TierName(tier),
           "model '" + *name + "' is in tier " + TierName(m->tier));
    }
  }
  if (n["default"]) {
    r.default_target = Str(n["default"], "routing.default");
    CheckTarget(c, n["default"], "routing.default", r.default_target);
  }
  if (n["aliases"]) {
    if (!n["aliases"].IsMap()) Fail(n["aliases"], "routing.aliases", "expected a mapping of name to target");
    for (auto it = n["aliases"].begin(); it != n["aliases"].end(); ++it) {
      std::string name = it->first.as<std::string>();
      std::string target = Str(it->second, "routing.aliases." + name);
      if (target != "auto") CheckTarget(c, it->second, "routing.aliases." + name, target);
      if (c.find(name)) Fail(it->first, "routing.aliases." + name, "shadows a configured model name");
      r.aliases[name] = target;
    }
  }
  if (n["privacy"]) {
    std::string pv = Str(n["privacy"], "routing.privacy");
    if (pv != "off" && pv != "local_only")
      Fail(n["privacy"], "routing.privacy", "expected 'off' or 'local_only'");
    r.local_only = pv == "local_only";
  }
  if (n["pii"]) {
    r.pii_kinds = StrList(n["pii"], "routing.pii");
    for (const auto& k : r.pii_kinds) {
      if (std::find(AllPiiKinds().begin(), AllPiiKinds().end(), k) == AllPiiKinds().end()) {
        Fail(n["pii"], "routing.pii", "unknown detector '" + k + "'");
      }
    }
  }
  if (const YAML::Node& l = n["learned"]) {
    CheckKeys(l, "routing.learned", {"model", "threshold", "target_llm_share"});
    if (!l["model"]) Fail(l, "routing.learned", "'model' (a file made by `tandem train`) is required");
    r.learned_model = Resolve(c.path, Str(l["model"], "routing.learned.model"));
    r.learned_line = LineOf(l["model"]);
    if (!std::filesystem::exists(r.learned_model)) {
      Fail(l["model"], "routing.learned.model", "no such file: " + r.learned_model);
    }
    if (l["threshold"]) {
      r.learned_threshold = Num(l["threshold"], "routing.learned.threshold");
      if (r.learned_threshold > 1) Fail(l["threshold"], "routing.learned.threshold", "must be in [0, 1]");
      r.threshold_line = LineOf(l["threshold"]);
    }
    if (l["target_llm_share"]) TargetShare(l["target_llm_share"], "routing.learned.target_llm_share", r);
  }
  if (const YAML::Node& sn = n["slm_scored"]) {
    CheckKeys(sn, "routing.slm_scored", {"router", "threshold", "model", "target_llm_share"});
    if (!sn["router"]) Fail(sn, "routing.slm_scored", "'router' (a file made by `tandem train --encoder`) is required");
    r.slm_scored_router = Resolve(c.path, Str(sn["router"], "routing.slm_scored.router"));
    r.slm_scored_line = LineOf(sn["router"]);
    if (!std::filesystem::exists(r.slm_scored_router))
      Fail(sn["router"], "routing.slm_scored.router", "no such file: " + r.slm_scored_router);
    if (sn["threshold"]) {
      r.slm_scored_threshold = Num(sn["threshold"], "routing.slm_scored.threshold");
      if (r.slm_scored_threshold > 1) Fail(sn["threshold"], "routing.slm_scored.threshold", "must be in [0, 1]");
      r.slm_scored_threshold_line = LineOf(sn["threshold"]);
    }
    // The SLM-scored router decides before the learned one: its target is the one reported.
    if (sn["target_llm_share"]) TargetShare(sn["target_llm_share"], "routing.slm_scored.target_llm_share", r);
    r.slm_scored_model = sn["model"] ? Str(sn["model"], "routing.slm_scored.model") : r.slm_model;
    const ModelInfo* m = c.find(r.slm_scored_model);
    if (!m) Fail(sn["model"] ? sn["model"] : sn, "routing.slm_scored.model", "no model named '" + r.slm_scored_model + "'");
    if (m->provider != ProviderKind::kLocalEngine)
      Fail(sn["model"] ? sn["model"] : sn, "routing.slm_scored.model",
           "'" + m->name + "' must be served in-process (provider: local): the router reads its hidden states");
  }
  if (const YAML::Node& cn = n["cascade"]) {
    CheckKeys(cn, "routing.cascade", {"min_confidence", "measure", "ttft_budget_ms", "escalate_without_logprobs",
                                      "router", "target_llm_share", "target_accuracy"});
    CascadeConfig& cc = r.cascade;
    cc.enabled = true;
    cc.line = LineOf(cn);
    if (cn["min_confidence"]) {
      cc.min_confidence = Num(cn["min_confidence"], "routing.cascade.min_confidence");
      if (cc.min_confidence > 1) Fail(cn["min_confidence"], "routing.cascade.min_confidence", "must be in [0, 1]");
      cc.min_confidence_line = LineOf(cn["min_confidence"]);
    }
    if (cn["router"]) {
      cc.router = Resolve(c.path, Str(cn["router"], "routing.cascade.router"));
      cc.router_line = LineOf(cn["router"]);
      if (!std::filesystem::exists(cc.router))
        Fail(cn["router"], "routing.cascade.router", "no such file: " + cc.router);
    }
    for (auto [key, value, line] : {std::tuple{"target_llm_share", &cc.target_llm_share, &cc.target_share_line},
                                    std::tuple{"target_accuracy", &cc.target_accuracy, &cc.target_accuracy_line}}) {
      if (!cn[key]) continue;
      const std::string p = std::string("routing.cascade.") + key;
      *value = Num(cn[key], p);
      if (*value > 1) Fail(cn[key], p, "must be in [0, 1]");
      *line = LineOf(cn[key]);
    }
    if (cn["target_llm_share"] && cn["target_accuracy"])
      Fail(cn["target_accuracy"], "routing.cascade.target_accuracy", "give target_llm_share or target_accuracy, not both");
    if (cn["measure"]) {
      cc.measure = Str(cn["measure"], "routing.cascade.measure");
      if (cc.measure != "mean" && cc.measure != "min")
        Fail(cn["measure"], "routing.cascade.measure", "expected 'mean' or 'min'");
    }
    if (cn["ttft_budget_ms"])
      cc.ttft_budget_ms = static_cast<int64_t>(Num(cn["ttft_budget_ms"], "routing.cascade.ttft_budget_ms"));
    if (cn["escalate_without_logprobs"])
      cc.escalate_without_logprobs = Bool(cn["escalate_without_logprobs"], "routing.cascade.escalate_without_logprobs");
  }
  if (const YAML::Node& rs = n["routes"]) {
    if (!rs.IsSequence() || rs.size() < 2 || rs.size() > 26)
      Fail(rs, "routing.routes", "expected a list of 2 to 26 {name, description, then}");
    const ModelInfo* slm = c.find(r.slm_model);
    if (!slm || slm->provider != ProviderKind::kLocalEngine)
      Fail(rs, "routing.routes", "routing.slm ('" + r.slm_model + "') must be served in-process (provider: local): "
           "it reads the route descriptions and scores each name");
    for (size_t i = 0; i < rs.size(); ++i) {
      const std::string p = "routing.routes[" + std::to_string(i) + "]";
      const YAML::Node& rn = rs[i];
      CheckKeys(rn, p, {"name", "description", "then", "examples"});
      for (const char* key : {"name", "description", "then"})
        if (!rn[key]) Fail(rn, p, std::string("'") + key + "' is required");
      DescribedRoute route;
      route.line = LineOf(rn);
      route.name = Str(rn["name"], p + ".name");
      route.description = Str(rn["description"], p + ".description");
      route.target = Str(rn["then"], p + ".then");
      CheckTarget(c, rn["then"], p + ".then", route.target);
      if (rn["examples"]) route.examples = StrList(rn["examples"], p + ".examples");
      if (route.name.empty() || route.name.find_first_of(" \t\n:") != std::string::npos)
        Fail(rn["name"], p + ".name", "expected one word (letters, digits, - or _): the SLM answers with it");
      for (const auto& other : r.routes)
        if (other.name == route.name) Fail(rn["name"], p + ".name", "'" + route.name + "' is already a route");
      r.routes.push_back(std::move(route));
    }
  }
  if (const YAML::Node& sh = n["shadow"]) {
    CheckKeys(sh, "routing.shadow", {"sample", "judge", "max_in_flight"});
    ShadowConfig& sc = r.shadow;
    sc.enabled = true;
    sc.line = LineOf(sh);
    if (!sh["judge"]) Fail(sh, "routing.shadow", "'judge' (the configured model that grades the SLM) is required");
    sc.judge = Str(sh["judge"], "routing.shadow.judge");
    if (!c.find(sc.judge)) Fail(sh["judge"], "routing.shadow.judge", "no model named '" + sc.judge + "'");
    if (sh["sample"]) {
      sc.sample = Num(sh["sample"], "routing.shadow.sample");
      if (sc.sample > 1) Fail(sh["sample"], "routing.shadow.sample", "must be in [0, 1]");
    }
    if (sh["max_in_flight"])
      sc.max_in_flight = static_cast<int>(Int(sh["max_in_flight"], "routing.shadow.max_in_flight", 1, 1024));
  }
  if (const YAML::Node& t = n["tradeoff"]) {
    CheckKeys(t, "routing.tradeoff", {"router", "lambda", "models", "output_tokens"});
    if (!t["router"]) Fail(t, "routing.tradeoff", "'router' (a file made by `tandem train --models`) is required");
    r.tradeoff_router = Resolve(c.path, Str(t["router"], "routing.tradeoff.router"));
    r.tradeoff_line = LineOf(t["router"]);
    if (!std::filesystem::exists(r.tradeoff_router))
      Fail(t["router"], "routing.tradeoff.router", "no such file: " + r.tradeoff_router);
    if (t["lambda"]) r.tradeoff_lambda = Num(t["lambda"], "routing.tradeoff.lambda");
    if (t["output_tokens"])
      r.tradeoff_output_tokens = static_cast<int64_t>(Num(t["output_tokens"], "routing.tradeoff.output_tokens"));
    const YAML::Node& m = t["models"];
    if (!m || !m.IsMap() || m.size() < 2)
      Fail(m ? m : t, "routing.tradeoff.models",
           "expected a mapping of the router's model names to configured models (at least two)");
    for (auto it = m.begin(); it != m.end(); ++it) {
      std::string name = it->first.as<std::string>();
      std::string target = Str(it->second, "routing.tradeoff.models." + name);
      if (!c.find(target)) Fail(it->second, "routing.tradeoff.models." + name, "no model named '" + target + "'");
      r.tradeoff_models[name] = target;
    }
  }
  if (n["rules"]) {
    const YAML::Node& rules = n["rules"];
    if (!rules.IsSequence()) Fail(rules, "routing.rules", "expected a list");
    for (size_t i = 0; i < rules.size(); ++i) {
      std::string p = "routing.rules[" + std::to_string(i) + "]";
      const YAML::Node& rn = rules[i];
      CheckKeys(rn, p, {"name", "if", "then"});
      RuleSpec rule;
      rule.line = LineOf(rn);
      rule.name = rn["name"] ? Str(rn["name"], p + ".name") : "rule-" + std::to_string(i + 1);
      if (!rn["then"]) Fail(rn, p, "'then' (the target) is required");
      rule.target = Str(rn["then"], p + ".then");
      CheckTarget(c, rn["then"], p + ".then", rule.target);
      if (!rn["if"]) Fail(rn, p, "'if' (the conditions) is required");
      const YAML::Node& w = rn["if"];
      std::string wp = p + ".if";
      CheckKeys(w, wp,
                {"min_tokens", "max_tokens", "min_turns", "max_turns", "tools", "task", "keywords", "regex",
                 "pii", "media"});
      if (w.size() == 0) Fail(w, wp, "needs at least one condition");
      if (w["min_tokens"]) rule.min_tokens = Int(w["min_tokens"], wp + ".min_tokens", 0, INT64_MAX);
      if (w["max_tokens"]) rule.max_tokens = Int(w["max_tokens"], wp + ".max_tokens", 0, INT64_MAX);
      if (w["min_turns"])
        rule.min_turns = static_cast<int>(Int(w["min_turns"], wp + ".min_turns", 0, 1 << 20));
      if (w["max_turns"])
        rule.max_turns = static_cast<int>(Int(w["max_turns"], wp + ".max_turns", 0, 1 << 20));
      if (w["tools"]) rule.tools = Bool(w["tools"], wp + ".tools");
      if (w["pii"]) rule.pii = Bool(w["pii"], wp + ".pii");
      if (w["media"]) rule.media = Bool(w["media"], wp + ".media");
      if (w["task"]) {
        rule.tasks = StrList(w["task"], wp + ".task");
        for (const auto& t : rule.tasks) {
          if (std::find(AllTaskTypes().begin(), AllTaskTypes().end(), t) == AllTaskTypes().end()) {
            std::string all;
            for (const auto& a : AllTaskTypes()) all += (all.empty() ? "" : ", ") + a;
            Fail(w["task"], wp + ".task", "unknown task type '" + t + "' (known: " + all + ")");
          }
        }
      }
      if (w["keywords"]) rule.keywords = StrList(w["keywords"], wp + ".keywords");
      if (w["regex"]) rule.regex = Str(w["regex"], wp + ".regex");
      r.rules.push_back(std::move(rule));
    }
  }
}

Config ParseOrThrow(const std::string& text, const std::string& path, const EnvLookup& env) {
  Config c;
  c.path = path;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError{e.mark.line + 1, "YAML syntax error: " + e.msg};
  }
  if (!root.IsMap()) throw ConfigError{1, "the config must be a YAML mapping"};
  CheckKeys(root, "(top level)", {"server", "ledger", "auth", "models", "routing", "agency"});
  if (const YAML::Node a = root["agency"]) {
    CheckKeys(a, "agency", {"workflows", "tools", "run_workers"});
    if (a["workflows"]) c.agency.workflows_dir = Resolve(path, Str(a["workflows"], "agency.workflows"));
    if (a["tools"]) {
      for (std::string spec : StrList(a["tools"], "agency.tools")) {
        // A spec's argument may be a path (files=DIR, sql=DB): relative to this file.
        const size_t eq = spec.find('=');
        const std::string kind = spec.substr(0, eq);
        if (eq != std::string::npos && (kind == "files" || kind == "sql" || kind == "sql-rw"))
          spec = kind + "=" + Resolve(path, spec.substr(eq + 1));
        c.agency.tools.push_back(spec);
      }
    }
    if (a["run_workers"]) c.agency.run_workers = static_cast<int>(Int(a["run_workers"], "agency.run_workers", 1, 64));
  }
  if (root["server"]) ParseServer(root["server"], c);
  if (root["ledger"]) {
    CheckKeys(root["ledger"], "ledger", {"path"});
    if (root["ledger"]["path"]) c.ledger_path = Resolve(path, Str(root["ledger"]["path"], "ledger.path"));
  } else {
    c.ledger_path = Resolve(path, c.ledger_path);
  }
  if (root["auth"]) ParseAuth(root["auth"], c, env);
  const YAML::Node& models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0) {
    throw ConfigError{models ? LineOf(models) : 1, "models: at least one model is required"};
  }
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    std::string p = "models[" + std::to_string(i) + "]";
    ModelInfo m = ParseModel(models[i], p, env, path);
    if (!names.insert(m.name).second)
      Fail(models[i]["name"], p + ".name", "duplicate model name '" + m.name + "'");
    c.models.push_back(std::move(m));
  }
  for (size_t i = 0; i < models.size(); ++i) {
    for (const auto& f : c.models[i].fallbacks) {
      if (!c.find(f)) {
        Fail(models[i]["fallbacks"], "models[" + std::to_string(i) + "].fallbacks",
             "no model named '" + f + "'");
      }
      if (f == c.models[i].name)
        Fail(models[i]["fallbacks"], "models[" + std::to_string(i) + "].fallbacks",
             "a model cannot fall back to itself");
    }
  }
  ParseRouting(root["routing"] ? root["routing"] : YAML::Node(YAML::NodeType::Map), c);
  return c;
}

}  // namespace

const ModelInfo* Config::find(const std::string& name) const {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path, const EnvLookup& env) {
  try {
    return ParseOrThrow(yaml_text, path, env);
  } catch (const ConfigError& e) {
    return Status(Code::kInvalidArgument, path + ":" + std::to_string(e.line) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    return Status(Code::kInvalidArgument, path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<Config> LoadConfig(const std::string& path, const EnvLookup& env) {
  auto text = ReadFile(path, "the config file");
  if (!text.ok()) return text.status();
  return ParseConfig(text.value(), path, env);
}

const std::vector<std::string>& AllPiiKinds() {
  static const std::vector<std::string> kinds = {"email", "phone", "card", "iban", "ssn", "ip", "secret", "media"};
  return kinds;
}

const std::vector<std::string>& AllTaskTypes() {
  static const std::vector<std::string> types = {"code",       "math",     "translation", "summary",
                                                 "extraction", "chitchat", "general"};
  return types;
}

}  // namespace tandem
