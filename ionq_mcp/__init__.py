"""ionq-mcp: an MCP server for the IonQ Quantum Cloud API v0.4.

Layers, in the one direction data flows: ``catalog`` (capability specs -> operations) -> ``server`` (MCP tools)
-> ``guard`` (spend policy) -> ``client`` (async HTTP client) -> the IonQ cloud or the embedded ``sandbox``.
"""

from ionq_mcp._version import __version__

__all__ = ["__version__"]
