"""Generate the README's tool table from the catalog: ``python -m ionq_mcp.server._readme [--check]``.

The table lives between ``<!-- tools:start -->`` and ``<!-- tools:end -->`` in README.md; everything else in
the README is prose and is left alone. ``--check`` exits 1 when the table is stale instead of rewriting it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ionq_mcp.catalog import Catalog, load_catalog

__all__ = ["END", "START", "main", "render_table", "replace_block"]

START = "<!-- tools:start -->"
END = "<!-- tools:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"


def _hints(op) -> str:
    hints = ["read-only" if op.read_only else "writes"]
    if op.destructive:
        hints.append("destructive")
    if op.idempotent:
        hints.append("idempotent")
    return ", ".join(hints)


def render_table(catalog: Catalog) -> str:
    """The Markdown table of every tool the default server exposes (toolset order, then catalog order)."""
    ops = list(catalog.operations)
    order = {name: i for i, name in enumerate(catalog.toolsets())}
    ops.sort(key=lambda op: order.get(op.capability, len(order)))
    lines = [
        (f"{len(ops)} tools. Generated from the capability files by `python -m ionq_mcp.server._readme`; "
         "`ionq-mcp tools` shows their schema sizes."),
        "",
        "| tool | toolset | what it does | hints |",
        "| --- | --- | --- | --- |",
    ]
    for op in ops:
        title = op.title.replace("|", "\\|")
        lines.append(f"| `{op.name}` | {op.capability} | {title} | {_hints(op)} |")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with the content between the markers replaced by ``block``. ValueError without markers."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README: the markers {START} ... {END} are missing")
    return text[: start + len(START)] + "\n" + block + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ionq_mcp.server._readme", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the table is stale; change nothing")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    updated = replace_block(text, render_table(load_catalog()))
    if updated == text:
        print(f"{args.readme}: tool table is up to date")
        return 0
    if args.check:
        print(f"{args.readme}: tool table is stale; run python -m ionq_mcp.server._readme", file=sys.stderr)
        return 1
    args.readme.write_text(updated, encoding="utf-8")
    print(f"{args.readme}: tool table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
