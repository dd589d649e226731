"""The ``ionq-mcp`` command: ``serve | sandbox | demo | tools | call | skills``.

This module only dispatches. Each subcommand lives beside the layer it drives and offers
``add_<name>_arguments(parser)`` and ``run_<name>(args) -> int``: ``sandbox`` in :mod:`ionq_mcp.sandbox._cli`;
``serve``, ``tools``, ``call`` and ``demo`` in :mod:`ionq_mcp.server._cli`; ``skills`` in
:mod:`ionq_mcp.skills._cli` (each package re-exports them). :data:`SUBCOMMANDS` names, for each, a loader whose
``from ... import`` runs only for the chosen subcommand, so start-up (which an MCP client waits for) does not pay
for numpy or the sandbox when serving a real IonQ account.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ionq_mcp._version import __version__

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def _serve() -> tuple[AddArguments, Run]:
    from ionq_mcp.server import add_serve_arguments, run_serve

    return add_serve_arguments, run_serve


def _sandbox() -> tuple[AddArguments, Run]:
    from ionq_mcp.sandbox import add_sandbox_arguments, run_sandbox

    return add_sandbox_arguments, run_sandbox


def _demo() -> tuple[AddArguments, Run]:
    from ionq_mcp.server import add_demo_arguments, run_demo

    return add_demo_arguments, run_demo


def _tools() -> tuple[AddArguments, Run]:
    from ionq_mcp.server import add_tools_arguments, run_tools

    return add_tools_arguments, run_tools


def _call() -> tuple[AddArguments, Run]:
    from ionq_mcp.server import add_call_arguments, run_call

    return add_call_arguments, run_call


def _skills() -> tuple[AddArguments, Run]:
    from ionq_mcp.skills._cli import add_skills_arguments, run_skills

    return add_skills_arguments, run_skills


#: subcommand -> (loader of its (add_arguments, run) pair, one-line help)
SUBCOMMANDS: dict[str, tuple[Callable[[], tuple[AddArguments, Run]], str]] = {
    "serve": (_serve, "run the MCP server (stdio by default, or streamable HTTP)"),
    "sandbox": (_sandbox, "serve the embedded IonQ-compatible sandbox cloud over HTTP"),
    "demo": (_demo, "run a real MCP client session against the sandbox and print results"),
    "tools": (_tools, "list every tool with its schema size"),
    "call": (_call, "call one tool from the shell with JSON arguments"),
    "skills": (_skills, "export the agent skill pack as a Claude Code plugin"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s own arguments are loaded (all subcommands stay listed)."""
    parser = argparse.ArgumentParser(
        prog="ionq-mcp",
        description="MCP server for the IonQ Quantum Cloud API v0.4, with an embedded sandbox cloud.",
    )
    parser.add_argument("--version", action="version", version=f"ionq-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (load, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            add, run = load()
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
