"""An MCP server written with the official Python SDK (PyPI `mcp`), in the style of its example servers.

    python ticket_server.py                      # stdio
    python ticket_server.py http PORT            # Streamable HTTP, stateful sessions (handshake revisions)
    python ticket_server.py http PORT stateless  # Streamable HTTP, stateless (2026-07-28 as well)
"""
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("tickets")

CUSTOMERS = {"ACME": {"plan": "enterprise", "open_tickets": 2}, "Initech": {"plan": "starter", "open_tickets": 0}}


@server.tool()
def lookup_customer(name: str) -> str:
    """Look up a customer's plan and how many tickets they have open."""
    c = CUSTOMERS.get(name)
    if c is None:
        raise ValueError(f"no customer named {name}")
    return f"{name}: plan {c['plan']}, {c['open_tickets']} open tickets"


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]),
                   stateless_http=len(sys.argv) > 3 and sys.argv[3] == "stateless")
    else:
        server.run()
