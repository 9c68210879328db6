// ValidateJson: checks a JSON value against a JSON Schema, before a tool runs, so a malformed call goes back to
// the model as an error message instead of into the tool.
//
// Supported keywords: type (one or a list; BFCL's "dict", "float", "tuple" and "any" read as object, number,
// array and anything), properties, required, additionalProperties (boolean or a schema), items, enum, const,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern (RE2), minItems, maxItems,
// anyOf, oneOf, allOf. Unknown keywords are ignored (as the specification says). Errors name the path of the
// offending value ("$.items[2].price: expected a number, got a string"). Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tandem::agency {

// All violations (at most `limit`); empty = valid. A schema or instance that is not JSON is reported too.
std::vector<std::string> ValidateJson(std::string_view schema_json, std::string_view instance_json, size_t limit = 8);

// The same as one Status: ok, or kInvalidArgument with the violations joined by "; ".
Status CheckJson(std::string_view schema_json, std::string_view instance_json);

}  // namespace tandem::agency
