#include "agency/trace.h"

#include <cstdio>
#include <functional>
#include <map>

#include "core/json_writer.h"

namespace tandem::agency {
namespace {

// FNV-1a, 64 bits: stable ids from names.
uint64_t Hash(std::string_view s, uint64_t seed = 1469598103934665603ull) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

std::string TraceId(const std::string& run) { return Hex(Hash(run)) + Hex(Hash(run, 0x9e3779b97f4a7c15ull)); }
std::string SpanId(const std::string& run, const std::string& key) { return Hex(Hash(run + "/" + key)); }

std::string Cut(const std::string& s, size_t n) {
  std::string one = s;
  for (char& c : one)
    if (c == '\n') c = ' ';
  return one.size() <= n ? one : one.substr(0, n) + "...";
}

void Attr(JsonWriter& w, const char* key, const std::string& v) {
  w.begin_object().kv("key", key).key("value").begin_object().kv("stringValue", v).end_object().end_object();
}
void Attr(JsonWriter& w, const char* key, int64_t v) {
  // OTLP/JSON writes 64-bit integers as strings.
  w.begin_object().kv("key", key).key("value").begin_object().kv("intValue", std::to_string(v)).end_object();
  w.end_object();
}
void Attr(JsonWriter& w, const char* key, double v) {
  w.begin_object().kv("key", key).key("value").begin_object().kv("doubleValue", v).end_object().end_object();
}

}  // namespace

std::string TraceText(const RunRecord& run, const std::vector<StepRecord>& steps) {
  std::map<std::string, std::vector<const StepRecord*>> children;
  for (const auto& s : steps) children[s.parent].push_back(&s);
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%s %s %s: %s\n", run.kind.c_str(), run.name.c_str(), run.id.c_str(),
                run.status.c_str());
  out += line;
  double cost = 0;
  int64_t in = 0, outt = 0;
  std::function<void(const std::string&, int)> walk = [&](const std::string& parent, int depth) {
    auto it = children.find(parent);
    if (it == children.end()) return;
    for (const StepRecord* s : it->second) {
      cost += s->cost_usd;
      in += s->prompt_tokens;
      outt += s->completion_tokens;
      const std::string indent(2 * depth + 2, ' ');
      std::snprintf(line, sizeof line, "%s%-28s %-8s %-9s %-22s %-4s %6lld+%-5lld tok  $%.7f  %6lld ms%s\n",
                    indent.c_str(), s->key.c_str(), s->kind.c_str(), s->status.c_str(),
                    Cut(s->model, 22).c_str(), s->tier.c_str(), (long long)s->prompt_tokens,
                    (long long)s->completion_tokens, s->cost_usd, (long long)s->ms,
                    s->attempts > 1 ? ("  (" + std::to_string(s->attempts) + " attempts)").c_str() : "");
      out += line;
      if (!s->reasons.empty()) out += indent + "    why: " + Cut(s->reasons, 160) + "\n";
      if (!s->error.empty()) out += indent + "    error: " + Cut(s->error, 160) + "\n";
      walk(s->key, depth + 1);
    }
  };
  walk("", 0);
  std::snprintf(line, sizeof line, "total: %zu steps, %lld+%lld tokens, $%.7f\n", steps.size(), (long long)in,
                (long long)outt, cost);
  out += line;
  if (!run.error.empty()) out += "error: " + run.error + "\n";
  return out;
}

std::string OtelJson(const RunRecord& run, const std::vector<StepRecord>& steps) {
  const std::string trace = TraceId(run.id);
  const std::string root = SpanId(run.id, "");
  int64_t end_us = run.updated_us;
  for (const auto& s : steps) end_us = std::max(end_us, s.start_us + s.ms * 1000);
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("resourceSpans").begin_array().begin_object();
  w.key("resource").begin_object().key("attributes").begin_array();
  Attr(w, "service.name", std::string("tandem"));
  w.end_array().end_object();
  w.key("scopeSpans").begin_array().begin_object();
  w.key("scope").begin_object().kv("name", "tandem.agency").kv("version", "0.1.0").end_object();
  w.key("spans").begin_array();
  // The run.
  const bool agent = run.kind == "agent";
  w.begin_object().kv("traceId", trace).kv("spanId", root).kv("parentSpanId", "");
  w.kv("name", std::string(agent ? "invoke_agent " : "invoke_workflow ") + run.name).kv("kind", int64_t{1});
  w.kv("startTimeUnixNano", std::to_string(run.created_us * 1000));
  w.kv("endTimeUnixNano", std::to_string(end_us * 1000));
  w.key("attributes").begin_array();
  Attr(w, "gen_ai.operation.name", std::string(agent ? "invoke_agent" : "invoke_workflow"));
  Attr(w, agent ? "gen_ai.agent.name" : "tandem.workflow.name", run.name);
  Attr(w, "tandem.run.id", run.id);
  Attr(w, "tandem.run.status", run.status);
  w.end_array();
  w.key("status").begin_object().kv("code", int64_t{run.error.empty() ? 1 : 2});
  if (!run.error.empty()) w.kv("message", run.error);
  w.end_object().end_object();
  for (const auto& s : steps) {
    const bool model = s.kind == "model" || s.kind == "agent";
    const bool tool = s.kind == "tool";
    std::string name = model ? "chat " + s.model : tool ? "execute_tool " + s.model : s.kind + " " + s.key;
    w.begin_object().kv("traceId", trace).kv("spanId", SpanId(run.id, s.key));
    w.kv("parentSpanId", s.parent.empty() ? root : SpanId(run.id, s.parent)).kv("name", name);
    w.kv("kind", int64_t{model ? 3 : 1});  // CLIENT for model calls, INTERNAL otherwise
    w.kv("startTimeUnixNano", std::to_string(s.start_us * 1000));
    w.kv("endTimeUnixNano", std::to_string((s.start_us + s.ms * 1000) * 1000));
    w.key("attributes").begin_array();
    Attr(w, "tandem.step.key", s.key);
    Attr(w, "tandem.step.kind", s.kind);
    Attr(w, "tandem.step.status", s.status);
    if (model) {
      Attr(w, "gen_ai.operation.name", std::string("chat"));
      Attr(w, "gen_ai.request.model", s.model);
      Attr(w, "gen_ai.response.model", s.model);
      Attr(w, "gen_ai.usage.input_tokens", s.prompt_tokens);
      Attr(w, "gen_ai.usage.output_tokens", s.completion_tokens);
      Attr(w, "tandem.route.tier", s.tier);
      Attr(w, "tandem.route.reasons", s.reasons);
      Attr(w, "tandem.cost_usd", s.cost_usd);
    } else if (tool) {
      Attr(w, "gen_ai.operation.name", std::string("execute_tool"));
      Attr(w, "gen_ai.tool.name", s.model);
    }
    if (s.attempts > 1) Attr(w, "tandem.step.attempts", static_cast<int64_t>(s.attempts));
    w.end_array();
    const bool failed = s.status == "error" || s.status == "rejected";
    w.key("status").begin_object().kv("code", int64_t{failed ? 2 : 1});
    if (failed && !s.error.empty()) w.kv("message", s.error);
    w.end_object().end_object();
  }
  w.end_array().end_object().end_array().end_object().end_array().end_object();
  return out;
}

std::string RunJson(const RunRecord& run, const std::vector<StepRecord>& steps) {
  std::string out;
  JsonWriter w(out);
  auto raw_or_null = [&](const char* k, const std::string& v) {
    w.key(k);
    if (v.empty()) w.null();
    else w.raw(v);
  };
  double cost = 0;
  for (const auto& s : steps) cost += s.cost_usd;
  w.begin_object().kv("id", run.id).kv("object", "tandem.run").kv("kind", run.kind).kv("name", run.name);
  w.kv("status", run.status);
  raw_or_null("input", run.input);
  raw_or_null("output", run.output);
  if (run.error.empty()) w.key("error").null();
  else w.kv("error", run.error);
  w.kv("cost_usd", cost).kv("created_us", run.created_us).kv("updated_us", run.updated_us);
  w.key("steps").begin_array();
  for (const auto& s : steps) {
    w.begin_object().kv("key", s.key).kv("parent", s.parent).kv("kind", s.kind).kv("status", s.status);
    w.kv("model", s.model).kv("tier", s.tier).kv("reasons", s.reasons).kv("input", s.input);
    raw_or_null("output", s.output);
    w.kv("prompt_tokens", s.prompt_tokens).kv("completion_tokens", s.completion_tokens).kv("cost_usd", s.cost_usd);
    w.kv("start_us", s.start_us).kv("ms", s.ms).kv("attempts", static_cast<int64_t>(s.attempts));
    if (s.error.empty()) w.key("error").null();
    else w.kv("error", s.error);
    w.end_object();
  }
  w.end_array().end_object();
  return out;
}

}  // namespace tandem::agency
