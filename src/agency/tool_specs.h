// Tool specs: the short strings that name a run's tools on the command line, in a workflow's `tools:` list and
// in an agent request — "calculator", "clock", "files=DIR", "sql=DB", "sql-rw=DB", "http=HOST;HOST", and the tools
// of an MCP server: "mcp=<command line>" (stdio) or "mcp-http=<url>" (Streamable HTTP), connected and listed
// here ("mcp@2025-06-18=..." pins the protocol revision instead of negotiating it). AddTools() builds them; unknown or incomplete specs are an error that lists the accepted forms.
#pragma once

#include <string>
#include <vector>

#include "agency/tool.h"
#include "core/status.h"

namespace tandem::agency {

// Adds the tools of each spec to `set`. `base_dir` resolves relative paths (a workflow's folder).
Status AddTools(const std::vector<std::string>& specs, const std::string& base_dir, ToolSet& set);
// "a,b,c" -> {"a", "b", "c"} (the command line's form).
std::vector<std::string> SplitSpecs(const std::string& comma_separated);

}  // namespace tandem::agency
