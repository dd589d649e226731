"""Regenerate the committed skill pack from the templates and the code's facts.

    python -m ionq_mcp.skills._render            # rewrite ionq_mcp/skills/pack/
    python -m ionq_mcp.skills._render --check    # exit 1 (listing the files) when the pack is stale

Templates (``ionq_mcp/skills/templates/<skill>/``) are Markdown with ``{{name}}`` placeholders filled from
:func:`ionq_mcp.skills._facts.template_values`; an unknown name stops generation. Each skill's ``references/``
come from :func:`ionq_mcp.skills._facts.references`; its ``scripts/`` are copied as they are.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ionq_mcp.skills import PACK_DIR

__all__ = ["TEMPLATES_DIR", "fill", "main", "render_pack", "stale_files", "write_pack"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


def fill(template: str, values: Mapping[str, str], *, where: str = "template") -> str:
    """``template`` with every ``{{name}}`` replaced; KeyError naming the placeholder and file when unknown."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{where}: unknown placeholder {{{{{name}}}}} (known: {', '.join(sorted(values))})")
        return values[name]

    return _PLACEHOLDER.sub(one, template)


def render_pack(templates: Path = TEMPLATES_DIR) -> dict[str, bytes]:
    """The pack as ``{"<skill>/<path>": bytes}``, from the templates and the code."""
    from ionq_mcp.skills import _facts

    _facts.check_billing_prose()
    values = _facts.template_values()
    references = _facts.references()
    pack: dict[str, bytes] = {}
    for folder in sorted(p for p in templates.iterdir() if (p / "SKILL.md").is_file()):
        for source in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            rel = source.relative_to(folder).as_posix()
            text = source.read_text(encoding="utf-8")
            if source.suffix == ".md":
                text = fill(text, values, where=f"{folder.name}/{rel}")
            pack[f"{folder.name}/{rel}"] = text.encode("utf-8")
        for name, text in references.pop(folder.name, {}).items():
            pack[f"{folder.name}/references/{name}"] = text.encode("utf-8")
    if references:
        raise KeyError(f"references for skills without a template: {', '.join(sorted(references))}")
    return pack


def _on_disk(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def stale_files(root: Path = PACK_DIR) -> list[str]:
    """Files of the committed pack that differ from a fresh render (changed, missing or extra), sorted."""
    fresh, current = render_pack(), _on_disk(root)
    return sorted(k for k in fresh.keys() | current.keys() if fresh.get(k) != current.get(k))


def write_pack(root: Path = PACK_DIR) -> None:
    """Replace ``root`` with a fresh render."""
    pack = render_pack()
    if root.exists():
        shutil.rmtree(root)
    for rel, data in pack.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if rel.endswith(".py"):
            target.chmod(0o755)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ionq_mcp.skills._render", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for rel in stale:
            print(f"stale: {rel}", file=sys.stderr)
        return 1 if stale else 0
    write_pack()
    print(f"wrote {PACK_DIR}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
