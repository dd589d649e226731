"""The ionq-mcp agent skill pack: SKILL.md files that teach an agent to use IonQ well through this server.

The pack under ``ionq_mcp/skills/pack/`` is GENERATED (``python -m ionq_mcp.skills._render``) from the
hand-written templates in ``ionq_mcp/skills/templates/`` and from facts read out of the code
(:mod:`ionq_mcp.skills._facts`); a test fails when the committed pack differs from what the code says, so every
change to it is a deliberate diff. Reading the pack (:func:`load_pack`) touches only these files: serving skills
over MCP costs no import of the sandbox or the catalog.

Consumers: ``ionq-mcp skills export DIR`` (:mod:`ionq_mcp.skills._export`) and the server's ``skill://``
resources (:mod:`ionq_mcp.server._skill_resources`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["PACK_DIR", "Skill", "SkillFile", "load_pack", "split_frontmatter"]

PACK_DIR = Path(__file__).resolve().parent / "pack"

_MIME = {".md": "text/markdown", ".py": "text/x-python", ".json": "application/json"}


@dataclass(frozen=True)
class SkillFile:
    """One file of a skill: ``path`` is relative to the skill's root, with ``/`` separators."""

    path: str
    data: bytes

    @property
    def mime_type(self) -> str:
        return _MIME.get(Path(self.path).suffix, "text/plain")

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the raw bytes (the form SEP-2640 skill entries use)."""
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Skill:
    """One skill: its name (= folder), its parsed SKILL.md frontmatter and every file, SKILL.md first."""

    name: str
    frontmatter: dict[str, Any]
    files: tuple[SkillFile, ...]

    @property
    def description(self) -> str:
        return str(self.frontmatter.get("description", ""))

    def file(self, path: str) -> SkillFile | None:
        return next((f for f in self.files if f.path == path), None)


def split_frontmatter(text: str) -> tuple[str, str]:
    """(frontmatter YAML including its ``---`` lines, body) of a SKILL.md; ValueError when it has none."""
    if not text.startswith("---\n"):
        raise ValueError("SKILL.md must start with a '---' line opening its YAML frontmatter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError("SKILL.md frontmatter is not closed by a '---' line")
    return text[: end + 5], text[end + 5:]


def _read_skill(folder: Path) -> Skill:
    import yaml

    files = [SkillFile(p.relative_to(folder).as_posix(), p.read_bytes())
             for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    files.sort(key=lambda f: (f.path != "SKILL.md", f.path))
    head, _ = split_frontmatter(files[0].data.decode("utf-8"))
    meta = yaml.safe_load(head.strip().strip("-"))
    return Skill(name=folder.name, frontmatter=dict(meta), files=tuple(files))


@cache
def load_pack(root: Path = PACK_DIR) -> tuple[Skill, ...]:
    """Every skill under ``root`` (one folder each, holding a SKILL.md), sorted by name."""
    return tuple(_read_skill(d) for d in sorted(root.iterdir()) if (d / "SKILL.md").is_file())
