#include "agency/tool_specs.h"

#include "core/split.h"

#include <filesystem>
#include <sstream>

#include "agency/builtin_tools.h"
#include "agency/mcp_client.h"
#include "core/clock.h"

namespace tandem::agency {
namespace {

std::string Resolve(const std::string& base, const std::string& p) {
  if (base.empty() || p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base) / p).lexically_normal().string();
}

}  // namespace

std::vector<std::string> SplitSpecs(const std::string& list) { return SplitComma(list); }

Status AddTools(const std::vector<std::string>& specs, const std::string& base_dir, ToolSet& set) {
  for (const std::string& item : specs) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq), arg = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (name == "calculator") {
      set.Add(MakeCalculatorTool());
    } else if (name == "clock") {
      set.Add(MakeClockTool(SystemClock::Get()));
    } else if (name == "files" && !arg.empty()) {
      for (auto& t : MakeFileTools(Resolve(base_dir, arg))) set.Add(t);
    } else if ((name == "sql" || name == "sql-rw") && !arg.empty()) {
      set.Add(MakeSqlTool(Resolve(base_dir, arg), name == "sql-rw"));
    } else if (name == "http" && !arg.empty()) {
      std::vector<std::string> hosts;
      std::stringstream hs(arg);
      for (std::string h; std::getline(hs, h, ';');)
        if (!h.empty()) hosts.push_back(h);
      for (auto& t : MakeHttpTools(hosts)) set.Add(t);
    } else if ((name.rfind("mcp@", 0) == 0 || name.rfind("mcp-http@", 0) == 0 || name == "mcp" ||
                name == "mcp-http") && !arg.empty()) {
      const size_t at = name.find('@');  // mcp@2025-06-18=...: pin the protocol revision
      auto opt = McpOptionsFromSpec(name.substr(0, at), arg);
      if (!opt.ok()) return opt.status();
      if (at != std::string::npos) opt.value().protocol = name.substr(at + 1);
      if (opt.value().protocol != "auto" && opt.value().protocol != "2026-07-28" && opt.value().protocol != "2025-06-18")
        return Status(Code::kInvalidArgument, "'" + item + "': the protocol is auto, 2026-07-28 or 2025-06-18");
      auto client = McpClient::Connect(opt.value());
      if (!client.ok()) return client.status();
      auto tools = client.value()->ListTools();
      if (!tools.ok()) return tools.status();
      for (auto& t : tools.value()) set.Add(t);
    } else {
      return Status(Code::kInvalidArgument,
                    "unknown or incomplete tool '" + item +
                        "' (calculator, clock, files=DIR, sql=DB, sql-rw=DB, http=HOST;HOST, mcp=COMMAND, mcp-http=URL)");
    }
  }
  return Status::Ok();
}

}  // namespace tandem::agency
