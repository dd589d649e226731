"""The README's tool table is generated from the catalog, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ionq_mcp.catalog import load_catalog
from ionq_mcp.server._readme import END, START, main, render_table, replace_block

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _block(text: str) -> str:
    return text[text.index(START) + len(START): text.index(END)].strip("\n")


def test_the_tool_table_is_current():
    expected = render_table(load_catalog())
    assert _block(README.read_text(encoding="utf-8")) == expected, (
        "README tool table is stale: run `python -m ionq_mcp.server._readme`"
    )


def test_the_table_names_every_tool_once():
    table = render_table(load_catalog())
    names = re.findall(r"^\| `([a-z_0-9]+)` \|", table, re.MULTILINE)
    assert sorted(names) == sorted(op.name for op in load_catalog().operations)


def test_the_generator_rewrites_only_the_block_and_check_detects_staleness(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(f"# title\n\nprose before\n\n{START}\n| old | table |\n{END}\n\nprose after\n", encoding="utf-8")
    assert main(["--check", "--readme", str(stale)]) == 1
    assert main(["--readme", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nprose before\n\n") and text.endswith("\n\nprose after\n")
    assert _block(text) == render_table(load_catalog())
    assert main(["--check", "--readme", str(stale)]) == 0


def test_missing_markers_are_reported():
    with pytest.raises(ValueError, match="tools:start"):
        replace_block("no markers here", "x")


def _readme_test_command() -> str:
    text = README.read_text(encoding="utf-8")
    commands = [line.strip() for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.DOTALL)
                for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1, commands
    return commands[0]


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_test_command()
    assert command == 'pip install -e ".[test]" && python -m pytest'
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci_lines
