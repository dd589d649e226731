"""The skill pack: generated from code (snapshot), valid Agent Skills, within budget, and exported as a
Claude Code plugin whose .mcp.json starts a working server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mcp import Client, StdioServerParameters

from ionq_mcp import circuits
from ionq_mcp._version import __version__
from ionq_mcp.catalog import load_catalog
from ionq_mcp.sandbox._costs import default_rates
from ionq_mcp.sandbox._noise import NOISE_MODELS
from ionq_mcp.skills import PACK_DIR, load_pack, split_frontmatter
from ionq_mcp.skills import _facts, _render
from ionq_mcp.skills._export import export_plugin, mcp_json

ROOT = Path(__file__).resolve().parents[2]
SKILLS = ("ionq-choosing-backends", "ionq-controlling-cost", "ionq-reading-results", "ionq-running-circuits")


def _agentskills() -> str:
    """The reference validator (PyPI ``skills-ref``, in the test extra): beside this interpreter or on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("agentskills", path=path)
    assert found, "agentskills not found: pip install -e '.[test]' installs skills-ref"
    return found


def _validate(skill_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_agentskills(), "validate", str(skill_dir)], capture_output=True, text=True, timeout=60,
                          check=False)


# --------------------------------------------------------------------------------------------------------------
# Generated from code
# --------------------------------------------------------------------------------------------------------------


def test_the_committed_pack_is_what_the_code_generates():
    stale = _render.stale_files()
    assert not stale, f"skill pack is stale ({', '.join(stale)}): run `python -m ionq_mcp.skills._render` " \
                      "and review the diff"


def test_the_pack_has_the_four_skills_each_in_its_own_folder():
    assert tuple(s.name for s in load_pack()) == SKILLS
    for skill in load_pack():
        assert skill.frontmatter["name"] == skill.name
        assert skill.files[0].path == "SKILL.md"


def test_facts_come_from_the_code_not_from_the_prose(monkeypatch):
    """Change a limit and a price in the code: the rendered pack changes with them."""
    before = _render.render_pack()
    monkeypatch.setattr(circuits, "MIN_DEBIASING_SHOTS", 777)
    monkeypatch.setattr(circuits, "MAX_QPU_SHOTS", 12_345)
    rates = default_rates()
    aria = rates.rates["qpu.aria-1"]
    monkeypatch.setattr("ionq_mcp.sandbox.default_rates", lambda: type(rates)(rates={
        **rates.rates, "qpu.aria-1": type(aria)(0.5, 0.75, 11.11, 88.88)}))
    after = _render.render_pack()
    cost = after["ionq-controlling-cost/SKILL.md"].decode()
    assert "777 shots or more" in cost and "88.88" in cost and "500 shots or more" not in cost
    assert "12,345" in after["ionq-running-circuits/SKILL.md"].decode()
    pricing = after["ionq-controlling-cost/references/pricing.md"].decode()
    assert "| `qpu.aria-1` | 0.50 | 0.75 | 11.11 | 88.88 |" in pricing
    assert before != after


def test_references_carry_every_gate_backend_rate_and_noise_model():
    pack = {k: v.decode() for k, v in _render.render_pack().items()}
    gates = pack["ionq-running-circuits/references/gates.md"]
    for name in [*circuits.QIS_GATES, *circuits.NATIVE_GATES]:
        assert f"| `{name}` |" in gates, name
    limits = pack["ionq-running-circuits/references/limits.md"]
    for backend, qubits in circuits.BACKEND_QUBITS.items():
        assert f"| `{backend}` | {qubits} |" in limits
    tools = pack["ionq-running-circuits/references/tools.md"]
    assert {m for m in re.findall(r"^\| `([a-z_]+)` \|", tools, re.M)} == {op.name for op in load_catalog().operations}
    backends = pack["ionq-choosing-backends/references/backends.md"]
    for model in NOISE_MODELS.values():
        assert f"| `{model.name}` | {model.p1q} | {model.p2q} | {model.readout} |" in backends


def test_the_billing_table_matches_the_published_rule():
    """Independent of the code: N-qubit gates bill 6*(N-2) 2q gates, pauliexp weight w bills 2*(w-1)."""
    rows = dict((label, (n1, n2)) for label, n1, n2 in _facts._billing_examples())
    for n in (3, 4, 5):
        assert rows[f"`x` with {n - 1} controls ({n} qubits)"] == (0, 6 * (n - 2))
    assert rows["`pauliexp` term `XYZ`"] == (0, 4) and rows["`pauliexp` term `Z`"] == (1, 0)
    assert rows["`cnot` (one control)"] == (0, 1)


def test_an_unknown_placeholder_stops_generation():
    with pytest.raises(KeyError, match="no_such_fact"):
        _render.fill("costs {{ no_such_fact }}", {"x": "1"}, where="t.md")
    assert _render.fill("a {{x}} b {{ x }}", {"x": "1"}) == "a 1 b 1"


# --------------------------------------------------------------------------------------------------------------
# Agent Skills format and budgets
# --------------------------------------------------------------------------------------------------------------


def test_frontmatter_of_the_whole_pack_stays_under_2000_bytes_and_bodies_under_500_lines():
    total = 0
    for skill in load_pack():
        head, body = split_frontmatter(skill.files[0].data.decode("utf-8"))
        total += len(head.encode("utf-8"))
        assert body.count("\n") < 500, skill.name
        meta = yaml.safe_load(head.strip("-\n"))
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", meta["name"]) and len(meta["name"]) <= 64
        assert 0 < len(meta["description"]) <= 1024 and re.search(r"\bUse (when|before)\b", meta["description"])
    assert total < 2000, total


def test_every_relative_link_in_a_skill_points_at_a_file_of_that_skill():
    for skill in load_pack():
        paths = {f.path for f in skill.files}
        for f in skill.files:
            if f.path.endswith(".md"):
                for link in re.findall(r"\]\(([^)#:]+)\)", f.data.decode()):
                    assert link in paths, f"{skill.name}/{f.path} links to missing {link}"
        for script in (p for p in paths if p.startswith("scripts/")):
            assert f"scripts/{Path(script).name}" in skill.files[0].data.decode(), f"{script} is not documented"


# --------------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("plugin") / "ionq-plugin"
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "skills", "export", str(dest)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"claude --plugin-dir {dest}" in done.stdout
    return dest


def test_export_writes_a_claude_code_plugin(plugin):
    manifest = json.loads((plugin / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "ionq-mcp" and manifest["version"] == __version__
    servers = json.loads((plugin / ".mcp.json").read_text())["mcpServers"]
    assert list(servers) == ["ionq"] and servers["ionq"]["args"] == ["serve"]
    exported = {p.relative_to(plugin / "skills").as_posix(): p.read_bytes()
                for p in (plugin / "skills").rglob("*") if p.is_file()}
    committed = {p.relative_to(PACK_DIR).as_posix(): p.read_bytes()
                 for p in PACK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert exported == committed
    assert all(os.access(plugin / "skills" / rel, os.X_OK) for rel in exported if rel.endswith(".py"))


def test_export_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="--force"):
        export_plugin(tmp_path)
    export_plugin(tmp_path, force=True)
    assert (tmp_path / "mine.txt").read_text() == "keep me" and (tmp_path / ".mcp.json").is_file()
    with pytest.raises(FileExistsError, match="is a file"):
        export_plugin(tmp_path / "mine.txt", force=True)


@pytest.mark.parametrize("name", SKILLS)
def test_every_exported_skill_passes_agentskills_validate(plugin, name):
    done = _validate(plugin / "skills" / name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_agentskills_validate_does_fail_a_broken_skill(plugin, tmp_path):
    broken = tmp_path / "ionq-misnamed"
    shutil.copytree(plugin / "skills" / "ionq-reading-results", broken)
    assert _validate(broken).returncode != 0  # the folder name no longer matches `name`


def _expand(value: str, env: dict[str, str]) -> str:
    """Claude Code's .mcp.json expansion: ``${VAR}`` and ``${VAR:-default}``."""
    return re.sub(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


@pytest.mark.anyio
async def test_the_exported_mcp_json_starts_a_server_with_the_tools_and_skills(plugin, tmp_path):
    spec = json.loads((plugin / ".mcp.json").read_text())["mcpServers"]["ionq"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_API", "IONQ_MCP"))}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path / "state")
    search = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = shutil.which(spec["command"], path=search)
    assert command, f"{spec['command']} is not installed"
    params = StdioServerParameters(command=command, args=spec["args"],
                                   env={**env, **{k: _expand(v, env) for k, v in spec["env"].items()}})
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        text = (await client.read_resource("skill://ionq-controlling-cost/SKILL.md")).contents[0].text
        whoami = await client.call_tool("whoami", {})
    assert {op.name for op in load_catalog().operations} == tools
    assert text.encode() == (PACK_DIR / "ionq-controlling-cost" / "SKILL.md").read_bytes()
    assert "sandbox" in json.dumps(whoami.structured_content).lower()  # no key: the offline sandbox answers


def test_the_default_command_is_what_the_plugin_needs():
    assert mcp_json()["mcpServers"]["ionq"]["command"] == "ionq-mcp"
    assert mcp_json("/opt/x/bin/ionq-mcp")["mcpServers"]["ionq"]["env"] == {"IONQ_API_KEY": "${IONQ_API_KEY:-}"}


def test_the_timing_table_reads_microsecond_ints_and_float_seconds_alike(monkeypatch):
    """The sandbox's timings moved from integer microseconds to float seconds (IonQ's unit): same table."""
    from ionq_mcp.sandbox import _backends

    micro = {"aria": _backends.Timing(135, 600, 300, 20, 100_000_000, 1_000_000)}
    seconds = {"aria": _backends.Timing(135e-6, 600e-6, 300e-6, 20e-6, 100.0, 1.0)}
    monkeypatch.setattr(_backends, "TIMINGS", micro)
    as_micro = _facts._backends_md()
    monkeypatch.setattr(_backends, "TIMINGS", seconds)
    assert _facts._backends_md() == as_micro
    assert "| aria | 135 us | 600 us | 300 us | 20 us | 100 s | 1 s |" in as_micro
