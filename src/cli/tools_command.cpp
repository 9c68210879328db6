// `tandem tools`: lists the tools a set of specs provides (built-in ones, or an MCP server's), and calls one —
// the quickest way to check an MCP server before an agent or a workflow uses it.
#include <cstdio>

#include "agency/tool_specs.h"
#include "cli/commands.h"

namespace tandem {

int ToolsCommand(const std::string& specs, const std::string& call, const std::string& args) {
  agency::ToolSet tools;
  Status st = agency::AddTools(agency::SplitSpecs(specs), "", tools);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 2;
  }
  if (call.empty()) {
    for (const auto& t : tools.all())
      std::printf("%-24s %s\n  parameters: %s\n", t->spec().name.c_str(), t->spec().description.c_str(),
                  t->spec().parameters.c_str());
    return 0;
  }
  agency::Tool* tool = tools.Find(call);
  if (!tool) {
    std::fprintf(stderr, "no tool '%s' among these tools\n", call.c_str());
    return 2;
  }
  agency::ToolResult r = agency::CallTool(*tool, args.empty() ? "{}" : args, std::chrono::milliseconds(30000));
  std::printf("%s%s\n", r.is_error ? "error: " : "", r.content.c_str());
  return r.is_error ? 3 : 0;
}

}  // namespace tandem
