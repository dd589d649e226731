"""The ``ionq-mcp`` command: ``serve | sandbox | demo | tools | call``.

This module only dispatches. Each subcommand lives beside the layer it drives and offers
``add_arguments(parser)`` and ``run(args) -> int``:
``sandbox`` in :mod:`ionq_mcp.sandbox._cli`; ``serve``, ``tools``, ``call`` and ``demo`` in
:mod:`ionq_mcp.server._cli`. Imports are lazy so ``ionq-mcp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ionq_mcp._version import __version__

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("ionq_mcp.server._cli", "run the MCP server (stdio by default, or streamable HTTP)"),
    "sandbox": ("ionq_mcp.sandbox._cli", "serve the embedded IonQ-compatible sandbox cloud over HTTP"),
    "demo": ("ionq_mcp.server._cli", "run a real MCP client session against the sandbox and print results"),
    "tools": ("ionq_mcp.server._cli", "list every tool with its schema size"),
    "call": ("ionq_mcp.server._cli", "call one tool from the shell with JSON arguments"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionq-mcp",
        description="MCP server for the IonQ Quantum Cloud API v0.4, with an embedded sandbox cloud.",
    )
    parser.add_argument("--version", action="version", version=f"ionq-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        getattr(module, f"add_{name}_arguments", module.add_arguments)(sub_parser)
        sub_parser.set_defaults(_run=getattr(module, f"run_{name}", None) or module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
