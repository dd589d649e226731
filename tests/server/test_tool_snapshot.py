"""Every tool's public face (name, title, description, annotations, input and output schema) is checked in, so
any change to what clients and models see is a deliberate, reviewed diff.

Regenerate after an intended change:  IONQ_MCP_UPDATE_SNAPSHOT=1 pytest tests/server/test_tool_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from ionq_mcp.catalog import load_catalog

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
REGENERATE = "IONQ_MCP_UPDATE_SNAPSHOT=1 pytest tests/server/test_tool_snapshot.py"


def current_tools() -> list[dict[str, Any]]:
    return [
        {
            "name": op.name,
            "title": op.title,
            "toolset": op.capability,
            "description": op.description,
            "annotations": {"readOnlyHint": op.read_only, "destructiveHint": op.destructive,
                            "idempotentHint": op.idempotent, "openWorldHint": op.open_world},
            "inputSchema": op.input_schema,
            "outputSchema": op.output_schema,
        }
        for op in load_catalog()
    ]


def _render(tools: list[dict[str, Any]]) -> str:
    return json.dumps(tools, indent=2, ensure_ascii=False) + "\n"


def test_tools_match_the_snapshot() -> None:
    rendered = _render(current_tools())
    if os.environ.get("IONQ_MCP_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if rendered != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), rendered.splitlines(True),
                                            "snapshots/tools.json", "current catalog", n=2))
        raise AssertionError(f"The tool list changed. If the change is intended, regenerate with:\n"
                             f"    {REGENERATE}\nand commit the snapshot.\n\n{diff[:20000]}")


def test_snapshot_covers_every_tool_once() -> None:
    names = [tool["name"] for tool in json.loads(SNAPSHOT.read_text(encoding="utf-8"))]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(op.name for op in load_catalog())
