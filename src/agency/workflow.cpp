#include "agency/workflow.h"

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "agency/json_schema.h"
#include "agency/template.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

// "" when `schema` reads as a JSON Schema this validator understands: types are known, nested schemas are objects.
std::string CheckSchema(const YAML::Node& n) {
  if (!n.IsMap()) return "a schema is a mapping";
  static const std::set<std::string> kTypes = {"string", "number", "integer", "boolean", "object", "array", "null"};
  if (const YAML::Node t = n["type"]) {
    std::vector<std::string> types;
    if (t.IsScalar()) types.push_back(t.Scalar());
    else if (t.IsSequence())
      for (const auto& x : t) types.push_back(x.IsScalar() ? x.Scalar() : "?");
    for (const auto& x : types)
      if (!kTypes.count(x)) return "type '" + x + "' is not a JSON type";
  }
  if (const YAML::Node p = n["properties"]) {
    if (!p.IsMap()) return "properties must be a mapping";
    for (auto it = p.begin(); it != p.end(); ++it) {
      std::string err = CheckSchema(it->second);
      if (!err.empty()) return "properties." + it->first.Scalar() + ": " + err;
    }
  }
  if (const YAML::Node i = n["items"]) {
    std::string err = CheckSchema(i);
    if (!err.empty()) return "items: " + err;
  }
  if (const YAML::Node r = n["required"]; r && !r.IsSequence()) return "required must be a list of names";
  return "";
}

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

bool ValidId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// Collects problems; every one carries the file and line.
class Checker {
 public:
  Checker(std::string file, const WorkflowEnv& env) : file_(std::move(file)), env_(env) {}

  void Problem(const YAML::Node& at, const std::string& what) { Problem(LineOf(at), what); }
  void Problem(int line, const std::string& what) {
    errors_ += file_ + ":" + std::to_string(line) + ": " + what + "\n";
  }
  bool ok() const { return errors_.empty(); }
  std::string errors() const { return errors_.substr(0, errors_.empty() ? 0 : errors_.size() - 1); }

  void Keys(const YAML::Node& n, const std::string& where, std::initializer_list<const char*> allowed) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.Scalar();
      bool known = false;
      for (const char* a : allowed) known = known || k == a;
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        Problem(it->first, where + ": unknown key '" + k + "' (allowed: " + list + ")");
      }
    }
  }
  bool Int(const YAML::Node& n, const std::string& where, int lo, int hi, int* out) {
    int v = 0;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, v) || v < lo || v > hi) {
      Problem(n, where + ": expected a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return false;
    }
    *out = v;
    return true;
  }
  bool Text(const YAML::Node& n, const std::string& where, std::string* out) {
    if (!n.IsScalar()) {
      Problem(n, where + ": expected a text");
      return false;
    }
    *out = n.Scalar();
    return true;
  }

  // A template or condition may only read declared inputs and steps that have run before it.
  void References(const YAML::Node& at, const std::string& where, const std::string& text, bool expression,
                  const std::set<std::string>& visible) {
    auto paths = Paths(text, expression);
    if (!paths.ok()) {
      Problem(at, where + ": " + paths.status().message());
      return;
    }
    for (const auto& p : paths.value()) {
      const std::string root = RootOf(p);
      if (root == "inputs") {
        const std::string rest = p.size() > 7 ? p.substr(7) : "";
        const std::string name = rest.substr(0, rest.find_first_of(".["));
        if (!name.empty() && !inputs_.count(name))
          Problem(at, where + ": '" + p + "' reads input '" + name + "', which the workflow does not declare");
      } else if (root.rfind("steps.", 0) == 0) {
        const std::string id = root.substr(6);
        if (!all_ids_.count(id)) Problem(at, where + ": '" + p + "' names no step '" + id + "'");
        else if (!visible.count(root)) Problem(at, where + ": '" + p + "' reads step '" + id + "', which has not run at this point");
      } else if (!visible.count(root)) {
        Problem(at, where + ": '" + p + "': nothing is called '" + root + "' here (inputs.*, steps.<id>.output, a loop's variable)");
      }
    }
  }

  void CollectIds(const YAML::Node& steps) {
    if (!steps.IsSequence()) return;
    for (const auto& s : steps) {
      if (!s.IsMap()) continue;
      if (s["id"] && s["id"].IsScalar()) {
        const std::string id = s["id"].Scalar();
        if (!all_ids_.insert(id).second) Problem(s["id"], "step id '" + id + "' is used twice");
      }
      if (s["steps"]) CollectIds(s["steps"]);  // for_each and repeat bodies
      if (s["parallel"]) CollectIds(s["parallel"]);
    }
  }

  // Parses a list of steps; `visible` is what they may read, grown as steps are declared.
  std::vector<WorkflowStep> Steps(const YAML::Node& n, const std::string& where, std::set<std::string> visible,
                                  std::set<std::string>* visible_after) {
    std::vector<WorkflowStep> out;
    if (!n.IsSequence() || n.size() == 0) {
      Problem(n, where + ": expected a non-empty list of steps");
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      WorkflowStep s = Step(n[i], where + "[" + std::to_string(i) + "]", visible, false);
      if (!s.id.empty()) visible.insert("steps." + s.id);
      for (const auto& b : s.branches)  // after a parallel step, each branch's output is readable
        if (!b.id.empty()) visible.insert("steps." + b.id);
      out.push_back(std::move(s));
    }
    if (visible_after) *visible_after = visible;
    return out;
  }

  WorkflowStep Step(const YAML::Node& n, std::string where, const std::set<std::string>& visible, bool fallback) {
    WorkflowStep s;
    s.line = LineOf(n);
    if (!n.IsMap()) {
      Problem(n, where + ": expected a step (a mapping)");
      return s;
    }
    if (n["id"]) {
      Text(n["id"], where + ".id", &s.id);
      if (!ValidId(s.id)) Problem(n["id"], where + ".id: '" + s.id + "' must be letters, digits, '_' or '-'");
      else where = "step '" + s.id + "'";
    } else if (!fallback) {
      Problem(n, where + ": every step needs an id");
    }
    int kinds = 0;
    for (const char* k : {"prompt", "tool", "approval", "for_each", "parallel", "repeat"}) kinds += n[k] ? 1 : 0;
    if (kinds != 1) {
      Problem(n, where + ": a step has exactly one of prompt (a model step), tool, approval, for_each, parallel or "
                         "repeat");
      return s;
    }
    Keys(n, where,
         {"id", "if", "model", "system", "prompt", "output_schema", "max_tokens", "temperature", "tool", "args",
          "approval", "for_each", "as", "steps", "parallel", "repeat", "retry", "timeout_ms", "on_error",
          "fallback"});
    if (n["if"] && Text(n["if"], where + ".if", &s.when)) References(n["if"], where + ".if", s.when, true, visible);

    if (n["prompt"]) {
      s.kind = StepKind::kModel;
      if (Text(n["prompt"], where + ".prompt", &s.prompt)) References(n["prompt"], where + ".prompt", s.prompt, false, visible);
      if (n["system"] && Text(n["system"], where + ".system", &s.system))
        References(n["system"], where + ".system", s.system, false, visible);
      if (n["model"] && Text(n["model"], where + ".model", &s.model) && s.model != "auto" && s.model != "slm" &&
          s.model != "llm" && env_.model_known && !env_.model_known(s.model))
        Problem(n["model"], where + ".model: no model '" + s.model + "' is configured (auto, slm, llm or a model's name)");
      if (n["max_tokens"]) Int(n["max_tokens"], where + ".max_tokens", 1, 1 << 20, &s.max_tokens);
      if (n["temperature"] && (!YAML::convert<double>::decode(n["temperature"], s.temperature) || s.temperature < 0 || s.temperature > 2))
        Problem(n["temperature"], where + ".temperature: expected a number in [0, 2]");
      if (n["output_schema"]) {
        auto schema = YamlToJson(n["output_schema"]);
        if (!schema.ok() || !n["output_schema"].IsMap()) {
          Problem(n["output_schema"], where + ".output_schema: expected a JSON Schema (a mapping)");
        } else {
          s.output_schema = schema.value();
          std::string err = CheckSchema(n["output_schema"]);
          if (!err.empty()) Problem(n["output_schema"], where + ".output_schema: " + err);
        }
      }
    } else if (n["tool"]) {
      s.kind = StepKind::kTool;
      if (Text(n["tool"], where + ".tool", &s.tool) && tools_known_ && !tools_.count(s.tool)) {
        std::string list;
        for (const auto& t : tools_) list += (list.empty() ? "" : ", ") + t;
        Problem(n["tool"], where + ".tool: no tool '" + s.tool + "' (this workflow's tools: " + (list.empty() ? "none" : list) + ")");
      }
      if (n["args"]) {
        if (!n["args"].IsMap()) Problem(n["args"], where + ".args: expected a mapping of arguments");
        else TemplatesIn(n["args"], where + ".args", visible);
        s.args = std::make_shared<YAML::Node>(YAML::Clone(n["args"]));
      }
    } else if (n["approval"]) {
      s.kind = StepKind::kApproval;
      if (Text(n["approval"], where + ".approval", &s.message))
        References(n["approval"], where + ".approval", s.message, false, visible);
    } else if (n["for_each"]) {
      s.kind = StepKind::kLoop;
      if (Text(n["for_each"], where + ".for_each", &s.for_each)) {
        std::string path = s.for_each;
        if (path.rfind("{{", 0) == 0 && path.size() > 4) path = path.substr(2, path.size() - 4);
        s.for_each = path;
        References(n["for_each"], where + ".for_each", path, true, visible);
      }
      if (n["as"] && Text(n["as"], where + ".as", &s.as) && (!ValidId(s.as) || s.as == "steps" || s.as == "inputs"))
        Problem(n["as"], where + ".as: '" + s.as + "' cannot name the loop variable");
      if (!n["steps"]) {
        Problem(n, where + ": a for_each step needs steps (the loop's body)");
      } else {
        std::set<std::string> inner = visible;
        inner.insert(s.as);
        inner.insert("index");
        s.body = Steps(n["steps"], where + ".steps", inner, nullptr);
      }
    } else if (n["repeat"]) {
      s.kind = StepKind::kRepeat;
      const YAML::Node r = n["repeat"];
      if (!r.IsMap() || !r["max"] || !r["until"]) {
        Problem(r, where + ".repeat: expected {max: <iterations>, until: <condition>}");
      } else {
        Keys(r, where + ".repeat", {"max", "until"});
        Int(r["max"], where + ".repeat.max", 1, 100, &s.max_iterations);
        Text(r["until"], where + ".repeat.until", &s.until);
      }
      if (!n["steps"]) {
        Problem(n, where + ": a repeat step needs steps (the body it repeats)");
      } else {
        std::set<std::string> inner = visible, after;
        inner.insert("previous");
        inner.insert("iteration");
        s.body = Steps(n["steps"], where + ".steps", inner, &after);
        if (!s.until.empty() && r.IsMap()) References(r["until"], where + ".repeat.until", s.until, true, after);
      }
    } else {
      s.kind = StepKind::kParallel;
      if (!n["parallel"].IsSequence() || n["parallel"].size() < 2) {
        Problem(n["parallel"], where + ".parallel: expected a list of at least two branches (steps)");
      } else {
        for (size_t i = 0; i < n["parallel"].size(); ++i)  // branches see what the parallel step sees, not each other
          s.branches.push_back(Step(n["parallel"][i], where + ".parallel[" + std::to_string(i) + "]", visible, false));
      }
    }
    if (n["steps"] && s.kind != StepKind::kLoop && s.kind != StepKind::kRepeat)
      Problem(n["steps"], where + ": steps belong to a for_each or repeat step");
    if (n["as"] && s.kind != StepKind::kLoop) Problem(n["as"], where + ": as belongs to a for_each step");
    if (n["args"] && s.kind != StepKind::kTool) Problem(n["args"], where + ": args belong to a tool step");
    for (const char* k : {"model", "system", "output_schema", "max_tokens", "temperature"})
      if (n[k] && s.kind != StepKind::kModel) Problem(n[k], where + ": " + k + " belongs to a model step (one with a prompt)");

    if (const YAML::Node r = n["retry"]) {
      if (!r.IsMap()) {
        Problem(r, where + ".retry: expected {attempts, backoff_ms}");
      } else {
        Keys(r, where + ".retry", {"attempts", "backoff_ms"});
        if (r["attempts"]) Int(r["attempts"], where + ".retry.attempts", 1, 20, &s.attempts);
        if (r["backoff_ms"]) Int(r["backoff_ms"], where + ".retry.backoff_ms", 0, 600000, &s.backoff_ms);
      }
    }
    if (n["timeout_ms"]) Int(n["timeout_ms"], where + ".timeout_ms", 1, 3600000, &s.timeout_ms);
    if (n["on_error"]) {
      std::string v;
      Text(n["on_error"], where + ".on_error", &v);
      if (v == "fail") s.on_error = OnError::kFail;
      else if (v == "skip") s.on_error = OnError::kSkip;
      else if (v == "escalate") s.on_error = OnError::kEscalate;
      else if (v == "fallback") s.on_error = OnError::kFallback;
      else Problem(n["on_error"], where + ".on_error: '" + v + "' is not one of fail, skip, escalate, fallback");
      if (s.on_error == OnError::kEscalate && s.kind != StepKind::kModel)
        Problem(n["on_error"], where + ".on_error: only a model step can escalate to the LLM");
    }
    if (n["fallback"]) {
      if (fallback) Problem(n["fallback"], where + ".fallback: a fallback cannot have a fallback of its own");
      else if (s.on_error != OnError::kFallback) Problem(n["fallback"], where + ".fallback: set on_error: fallback to use it");
      else s.fallback = std::make_shared<WorkflowStep>(Step(n["fallback"], where + ".fallback", visible, true));
    } else if (s.on_error == OnError::kFallback) {
      Problem(n, where + ": on_error: fallback needs a fallback step");
    }
    return s;
  }

  // Every string scalar under `n` is a template.
  void TemplatesIn(const YAML::Node& n, const std::string& where, const std::set<std::string>& visible) {
    if (n.IsScalar()) {
      References(n, where, n.Scalar(), false, visible);
    } else if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) TemplatesIn(n[i], where + "[" + std::to_string(i) + "]", visible);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) TemplatesIn(it->second, where + "." + it->first.Scalar(), visible);
    }
  }

  std::string file_;
  const WorkflowEnv& env_;
  std::string errors_;
  std::set<std::string> inputs_, all_ids_, tools_;
  bool tools_known_ = false;
};

}  // namespace

const char* StepKindName(StepKind k) {
  switch (k) {
    case StepKind::kModel:
      return "model";
    case StepKind::kTool:
      return "tool";
    case StepKind::kApproval:
      return "approval";
    case StepKind::kLoop:
      return "loop";
    case StepKind::kParallel:
      return "parallel";
    case StepKind::kRepeat:
      return "repeat";
  }
  return "?";
}

Result<std::string> YamlToJson(const YAML::Node& n, const Scope* scope) {
  std::string out;
  if (n.IsMap()) {
    out += "{";
    bool first = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      auto v = YamlToJson(it->second, scope);
      if (!v.ok()) return v;
      if (!first) out += ",";
      first = false;
      AppendJsonString(out, it->first.Scalar());
      out += ":" + v.value();
    }
    return out + "}";
  }
  if (n.IsSequence()) {
    out += "[";
    for (size_t i = 0; i < n.size(); ++i) {
      auto v = YamlToJson(n[i], scope);
      if (!v.ok()) return v;
      out += (i ? "," : "") + v.value();
    }
    return out + "]";
  }
  if (n.IsNull()) return std::string("null");
  if (!n.IsScalar()) return Status(Code::kInvalidArgument, "unsupported YAML value");
  const std::string& s = n.Scalar();
  if (n.Tag() != "!") {  // plain scalars may be numbers, booleans or null
    if (s == "true" || s == "false" || s == "null") return s;
    if (s == "~") return std::string("null");
    // A number only when it is one in JSON too ("007", "+1" and ".5" stay text).
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    if (!s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos && !parser.parse(s).get(e) &&
        e.is_number())
      return s;
  }
  if (scope) return Value(s, *scope);
  AppendJsonString(out, s);
  return out;
}

Result<Workflow> ParseWorkflow(const std::string& text, const std::string& file, const WorkflowEnv& env) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status(Code::kInvalidArgument,
                  file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  Workflow wf;
  wf.file = file;
  Checker c(file, env);
  if (!root.IsMap()) return Status(Code::kInvalidArgument, file + ":1: a workflow is a mapping with name and steps");
  c.Keys(root, "workflow", {"name", "description", "inputs", "tools", "steps", "output"});
  if (!root["name"] || !c.Text(root["name"], "name", &wf.name) || !ValidId(wf.name))
    c.Problem(root["name"] ? root["name"] : root, "name: a workflow needs a name (letters, digits, '_' or '-')");
  if (root["description"]) c.Text(root["description"], "description", &wf.description);
  if (const YAML::Node in = root["inputs"]) {
    if (!in.IsMap()) c.Problem(in, "inputs: expected a mapping of input names");
    for (auto it = in.begin(); in.IsMap() && it != in.end(); ++it) {
      WorkflowInput input;
      input.name = it->first.Scalar();
      const std::string where = "inputs." + input.name;
      const YAML::Node d = it->second;  // a copy: the iterator's pair is a temporary
      if (d.IsScalar()) {
        input.type = d.Scalar();
      } else if (d.IsMap()) {
        c.Keys(d, where, {"type", "description", "required", "default"});
        if (d["type"]) c.Text(d["type"], where + ".type", &input.type);
        if (d["description"]) c.Text(d["description"], where + ".description", &input.description);
        if (d["required"] && !YAML::convert<bool>::decode(d["required"], input.required))
          c.Problem(d["required"], where + ".required: expected true or false");
        if (d["default"]) {
          auto dflt = YamlToJson(d["default"]);
          input.default_json = dflt.ok() ? dflt.value() : "null";
          input.required = false;
        }
      } else if (!d.IsNull()) {
        c.Problem(d, where + ": expected a type or {type, description, required, default}");
      }
      static const std::set<std::string> kTypes = {"string", "number", "integer", "boolean", "object", "array"};
      if (!kTypes.count(input.type)) c.Problem(d, where + ".type: '" + input.type + "' is not a JSON type");
      c.inputs_.insert(input.name);
      wf.inputs.push_back(std::move(input));
    }
  }
  if (const YAML::Node t = root["tools"]) {
    if (!t.IsSequence()) c.Problem(t, "tools: expected a list of tool specs");
    for (size_t i = 0; t.IsSequence() && i < t.size(); ++i) {
      std::string spec;
      if (c.Text(t[i], "tools[" + std::to_string(i) + "]", &spec)) wf.tools.push_back(spec);
    }
  }
  if (env.tool_names) {
    std::string err;
    for (const auto& name : env.tool_names(wf.tools, &err)) c.tools_.insert(name);
    if (!err.empty()) c.Problem(root["tools"] ? root["tools"] : root, "tools: " + err);
    c.tools_known_ = err.empty();
  }
  if (!root["steps"]) {
    c.Problem(root, "steps: a workflow needs steps");
  } else {
    c.CollectIds(root["steps"]);
    std::set<std::string> after;
    wf.steps = c.Steps(root["steps"], "steps", {"inputs"}, &after);
    if (root["output"]) {
      c.TemplatesIn(root["output"], "output", after);
      wf.output = std::make_shared<YAML::Node>(YAML::Clone(root["output"]));
    }
  }
  if (!c.ok()) return Status(Code::kInvalidArgument, c.errors());
  return wf;
}


}  // namespace tandem::agency
