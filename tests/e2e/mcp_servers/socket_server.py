"""An MCP server (official Python SDK, stdio) with one tool: the sockets it was started with beyond stdin, stdout
and stderr. A client that leaks its own to the servers it starts (a gateway's listening sockets, a client's
connection) shows them here.

    python socket_server.py
"""
import os

INHERITED = sorted(f"{fd} -> {link}" for fd, link in
                   ((fd, os.readlink(f"/proc/self/fd/{fd}")) for fd in os.listdir("/proc/self/fd")
                    if int(fd) > 2 and os.path.exists(f"/proc/self/fd/{fd}"))
                   if link.startswith("socket:"))

from mcp.server.mcpserver import MCPServer  # noqa: E402  (after the census: the SDK opens sockets of its own)

server = MCPServer("sockets")


@server.tool()
def inherited_sockets() -> str:
    """The sockets this server was started with ("none" from a client that keeps its own)."""
    return ", ".join(INHERITED) or "none"


if __name__ == "__main__":
    server.run()
