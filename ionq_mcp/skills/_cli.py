"""``ionq-mcp skills export DIR [--command CMD] [--force]`` (dispatched by :mod:`ionq_mcp.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_skills_arguments", "run_skills"]


def add_skills_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="skills_action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="write the skill pack as a Claude Code plugin (load it with: claude --plugin-dir DIR)",
        description="Write DIR/.claude-plugin/plugin.json, DIR/.mcp.json (runs `ionq-mcp serve`; the offline "
                    "sandbox when IONQ_API_KEY is unset) and DIR/skills/<name>/ (Agent Skills).")
    export.add_argument("dir", metavar="DIR", type=Path, help="an empty or new folder")
    export.add_argument("--command", metavar="CMD", dest="server_command",
                        help="how .mcp.json starts the server (default: ionq-mcp if it is on PATH, else this "
                             "installation's absolute path)")
    export.add_argument("--force", action="store_true", help="write into a folder that is not empty")


def run_skills(args: argparse.Namespace) -> int:
    from ionq_mcp.skills import load_pack
    from ionq_mcp.skills._export import _default_command, export_plugin

    try:
        written = export_plugin(args.dir, command=args.server_command or _default_command(), force=args.force)
    except FileExistsError as exc:
        print(f"ionq-mcp: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(s.name for s in load_pack())
    print(f"wrote {len(written)} files to {args.dir} (skills: {names})")
    print(f"load it in Claude Code with: claude --plugin-dir {args.dir}")
    return 0
