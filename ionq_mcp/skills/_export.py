"""``ionq-mcp skills export DIR``: write the skill pack as a Claude Code plugin.

Layout written at DIR::

    .claude-plugin/plugin.json    name, version, description, author, license, keywords
    .mcp.json                     the ionq server: ``ionq-mcp serve`` (sandbox when IONQ_API_KEY is unset)
    skills/<name>/SKILL.md        one folder per skill, with references/ and scripts/

Load it with ``claude --plugin-dir DIR``. The skills folders alone are valid Agent Skills for any other host.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ionq_mcp._version import __version__
from ionq_mcp.skills import PACK_DIR, load_pack

__all__ = ["PLUGIN_NAME", "SERVER_NAME", "export_plugin", "mcp_json", "plugin_json"]

PLUGIN_NAME = "ionq-mcp"
#: The server's key in .mcp.json (tools show up as mcp__ionq__<tool> in Claude Code).
SERVER_NAME = "ionq"
_DESCRIPTION = ("IonQ Quantum Cloud for agents: the ionq-mcp MCP server (offline sandbox without an API key, spend "
                "guard for QPU jobs) and skills for running circuits, controlling cost, choosing backends and "
                "reading results.")
_REPOSITORY = "https://github.com/ionq-mcp/ionq-mcp"


def plugin_json() -> dict[str, Any]:
    """``.claude-plugin/plugin.json``."""
    return {
        "name": PLUGIN_NAME,
        "version": __version__,
        "description": _DESCRIPTION,
        "author": {"name": "ionq-mcp developers"},
        "homepage": f"{_REPOSITORY}#readme",
        "repository": _REPOSITORY,
        "license": "Apache-2.0",
        "keywords": ["ionq", "quantum", "mcp", "skills"],
    }


def mcp_json(command: str = "ionq-mcp") -> dict[str, Any]:
    """``.mcp.json``: the server started as ``COMMAND serve``. ``${IONQ_API_KEY:-}`` passes the user's key when
    it is set and an empty value (= the offline sandbox) when it is not."""
    return {"mcpServers": {SERVER_NAME: {
        "command": command,
        "args": ["serve"],
        "env": {"IONQ_API_KEY": "${IONQ_API_KEY:-}"},
    }}}


def _write(path: Path, data: bytes, *, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if executable:
        path.chmod(0o755)


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode("utf-8")


def export_plugin(dest: Path, *, command: str = "ionq-mcp", force: bool = False, root: Path = PACK_DIR) -> list[Path]:
    """Write the plugin at ``dest``; return the files written. ``dest`` must be empty or missing unless
    ``force`` (then files of ours are overwritten; nothing else is deleted). FileExistsError otherwise."""
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest} is a file: choose an empty or new folder")
    if dest.exists() and any(dest.iterdir()) and not force:
        raise FileExistsError(f"{dest} is not empty: choose an empty folder, or pass --force to overwrite")
    written: list[Path] = []

    def put(rel: str, data: bytes, executable: bool = False) -> None:
        path = dest / rel
        _write(path, data, executable=executable)
        written.append(path)

    put(".claude-plugin/plugin.json", _dump(plugin_json()))
    put(".mcp.json", _dump(mcp_json(command)))
    for skill in load_pack(root):
        for file in skill.files:
            put(f"skills/{skill.name}/{file.path}", file.data, executable=file.path.endswith(".py"))
    return written


def _default_command() -> str:
    """``ionq-mcp`` when that is what PATH finds, else the absolute path of this installation's script."""
    import shutil
    import sys

    found = shutil.which("ionq-mcp")
    beside = Path(sys.executable).with_name("ionq-mcp")
    if found or not beside.exists() or os.name == "nt":
        return "ionq-mcp"
    return str(beside)
