"""The ``ionq-mcp`` command: ``serve | sandbox | demo | tools | call | skills``.

This module only dispatches. Each subcommand lives beside the layer it drives and offers
``add_<name>_arguments(parser)`` and ``run_<name>(args) -> int`` (or plain ``add_arguments``/``run``):
``sandbox`` in :mod:`ionq_mcp.sandbox._cli`; ``serve``, ``tools``, ``call`` and ``demo`` in
:mod:`ionq_mcp.server._cli`; ``skills`` in :mod:`ionq_mcp.skills._cli`. Only the chosen subcommand's module is
imported, so start-up (which an MCP client waits for) does not pay for numpy or the sandbox when serving a real
IonQ account.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ionq_mcp._version import __version__

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("ionq_mcp.server._cli", "run the MCP server (stdio by default, or streamable HTTP)"),
    "sandbox": ("ionq_mcp.sandbox._cli", "serve the embedded IonQ-compatible sandbox cloud over HTTP"),
    "demo": ("ionq_mcp.server._cli", "run a real MCP client session against the sandbox and print results"),
    "tools": ("ionq_mcp.server._cli", "list every tool with its schema size"),
    "call": ("ionq_mcp.server._cli", "call one tool from the shell with JSON arguments"),
    "skills": ("ionq_mcp.skills._cli", "export the agent skill pack as a Claude Code plugin"),
}


def _entry_points(name: str) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[Any], int]]:
    module = importlib.import_module(SUBCOMMANDS[name][0])
    add = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
    run = getattr(module, f"run_{name}", None) or module.run
    return add, run


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s own arguments are loaded (all subcommands stay listed)."""
    parser = argparse.ArgumentParser(
        prog="ionq-mcp",
        description="MCP server for the IonQ Quantum Cloud API v0.4, with an embedded sandbox cloud.",
    )
    parser.add_argument("--version", action="version", version=f"ionq-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            add, run = _entry_points(name)
            add(sub_parser)
            sub_parser.set_defaults(_run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(command if command in SUBCOMMANDS else None)
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
