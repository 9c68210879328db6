// The built-in tools: calculator, clock, files in a sandbox folder, SQL over a SQLite file, HTTP GET/POST to
// allow-listed hosts. Each is a Tool (agency/tool.h); all are thread-safe.
//
// - calculator {"expression"}: + - * / % ^, parentheses, unary minus, sqrt, abs, exp, ln, log10, log2, sin, cos,
//   tan, floor, ceil, round, min, max, pow, pi, e. No evaluation of anything but arithmetic.
// - clock {"utc_offset_minutes"?}: the current time as ISO 8601 and Unix seconds (the injected Clock).
// - read_file {"path"} / write_file {"path", "content", "append"?} / list_files {"path"?}: paths are relative to
//   the sandbox root; absolute paths, "..", and symlinks that lead outside are refused, by the open itself
//   (agency/sandbox.h: no check-then-open gap). Reads stop at 1 MiB.
// - sql {"query"}: one statement on a SQLite file, rows as JSON ({"columns", "rows"}, at most 200 rows);
//   read-only unless created with writable = true.
// - http_get {"url", "headers"?} / http_post {"url", "body", "headers"?}: only to hosts in the allow list
//   ("host" or "host:port"); the status and at most 64 KiB of the body come back. Paths and headers with control
//   characters, and the headers that frame the request (host, content-length, ...), are refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agency/tool.h"
#include "core/clock.h"

namespace tandem::agency {

std::shared_ptr<Tool> MakeCalculatorTool();
std::shared_ptr<Tool> MakeClockTool(const Clock& clock);
// The three file tools over one sandbox folder (created if missing). walk_only: never follow a symbolic link,
// as where the kernel lacks openat2 (tests use it to cover that mode on any kernel).
std::vector<std::shared_ptr<Tool>> MakeFileTools(const std::string& sandbox_root, bool walk_only = false);
std::shared_ptr<Tool> MakeSqlTool(const std::string& sqlite_path, bool writable);
std::vector<std::shared_ptr<Tool>> MakeHttpTools(const std::vector<std::string>& allowed_hosts);

// Evaluates an arithmetic expression (the calculator's engine); errors name the position.
Result<double> EvaluateExpression(std::string_view expression);

}  // namespace tandem::agency
