// Workflow expressions: `{{ path }}` templates and `if:` conditions over a run's values.
//
// A Scope maps root names to JSON texts: `inputs`, `steps.<id>` (an object {"output", "status", "model"}), the
// loop variable (`item` by default) and `index`. A path is a root followed by `.field` or `[n]` selectors:
// `inputs.ticket`, `steps.classify.output.priority`, `item.name`, `steps.extract.output.items[0]`.
//
// Render() replaces each `{{ path }}` in a text: a JSON string is inserted as its characters, any other value as
// JSON; `{{ path | default('text') }}` (or a number, true, false, null) stands in when the value is missing or null. Value() returns the JSON of a whole-scalar template (`"{{ steps.x.output }}"` keeps its type, for tool
// arguments). Condition() evaluates
//   expr := or;  or := and ('or' and)*;  and := not ('and' not)*;  not := 'not' not | cmp
//   cmp  := operand [('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'contains') operand]
//   operand := path | 'text' | "text" | number | true | false | null | '(' expr ')'
// where a lone operand is truthy unless false, null, 0, "", [] or {}. Errors name what was wrong. Paths() lists
// the paths an expression or template mentions, for validation before a run. Not thread-safe (a Scope per run).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tandem::agency {

class Scope {
 public:
  void Set(const std::string& root, std::string json) { roots_[root] = std::move(json); }
  void Erase(const std::string& root) { roots_.erase(root); }
  bool Has(const std::string& root) const { return roots_.count(root) > 0; }
  // The JSON text at `path`.
  Result<std::string> Lookup(std::string_view path) const;

 private:
  std::map<std::string, std::string> roots_;
};

Result<std::string> Render(std::string_view tmpl, const Scope& scope);
// When `tmpl` is exactly one `{{ path }}`, the JSON value; otherwise the rendered text as a JSON string.
Result<std::string> Value(std::string_view tmpl, const Scope& scope);
Result<bool> Condition(std::string_view expr, const Scope& scope);

// The paths mentioned in a template (inside `{{ }}`) or, with `is_expression`, in a condition; a syntax error
// is returned as a status.
Result<std::vector<std::string>> Paths(std::string_view text, bool is_expression);
// A path's root as a Scope key: "inputs", "steps.<id>", "item".
std::string RootOf(std::string_view path);
// Whether a JSON value counts as true in a condition.
bool Truthy(std::string_view json);

}  // namespace tandem::agency
