// McpClient: the tools of a Model Context Protocol server, as Tandem tools.
//
// Two transports: stdio (the server is a child process; JSON-RPC messages are single lines on its stdin and
// stdout; its stderr passes through) and Streamable HTTP (each message is a POST to one endpoint; the answer is
// JSON or an SSE stream carrying it). Two protocol generations:
//   - 2026-07-28, stateless: no handshake; every request carries `_meta` with the protocol version, the client's
//     info and capabilities (and, over HTTP, the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers);
//   - 2025-06-18 (and the other handshake revisions a server may answer with): `initialize`, then
//     `notifications/initialized`; over HTTP the Mcp-Session-Id the server assigns is sent back on every request.
// With protocol "auto" the client asks `server/discover` first and falls back to the handshake when the server
// does not know it. Then `tools/list` (all pages) and `tools/call`; a result with `isError` becomes an error
// result the model reads, a JSON-RPC error or a dead server a failure. Requests time out; a server that exits
// fails every pending call at once. Thread-safe: calls may run concurrently (responses are matched by id).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agency/tool.h"
#include "core/status.h"

namespace tandem::agency {

struct McpOptions {
  std::vector<std::string> command;  // stdio: the program and its arguments
  std::string url;                   // Streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp
  std::string protocol = "auto";     // auto | 2026-07-28 | 2025-06-18
  std::chrono::milliseconds timeout{15000};  // connecting and listing
};

class McpTransport;

class McpClient : public std::enable_shared_from_this<McpClient> {
 public:
  // Starts (stdio) or reaches (HTTP) the server and agrees on a protocol version.
  static Result<std::shared_ptr<McpClient>> Connect(const McpOptions& opt);
  ~McpClient();

  const std::string& protocol_version() const { return version_; }
  const std::string& server_name() const { return server_name_; }
  // Every tool the server offers (following nextCursor), as Tools that call it.
  Result<std::vector<std::shared_ptr<Tool>>> ListTools();
  // One call; `args_json` is the arguments object.
  Result<ToolResult> CallTool(const std::string& name, std::string_view args_json, std::chrono::milliseconds timeout);

 private:
  McpClient() = default;
  // Sends one request; returns its `result` (JSON) or the JSON-RPC error as a Status.
  Result<std::string> Request(const std::string& method, const std::string& params_json,
                              std::chrono::milliseconds timeout, const std::string& name = "");
  std::string Meta() const;

  std::unique_ptr<McpTransport> transport_;
  std::string version_;
  std::string server_name_;
  bool stateless_ = false;
};

// Parses a tool spec's argument: "mcp=<command line>" (split on spaces; quotes group) or "mcp-http=<url>".
Result<McpOptions> McpOptionsFromSpec(const std::string& kind, const std::string& arg);

}  // namespace tandem::agency
