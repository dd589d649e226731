"""Install metadata: ``server.json`` (MCP registry), ``manifest.json`` (MCP Bundle) and the README's
``mcp-name`` line, checked against their schemas, the official ``mcpb`` tool and the code they describe.

``docs/reference/mcp-registry-server.schema.json`` is a verbatim copy of the registry's schema
(modelcontextprotocol/registry, docs/reference/server-json/server.schema.json, ``$id`` 2025-09-29). The ``mcpb``
CLI (npm ``@anthropic-ai/mcpb``) comes from ``.ci/run``'s npm prefix (``IONQ_MCP_INSPECTOR_DIR``) or PATH; the
tests that need it skip without it, except in CI (``CI`` set), where it must be there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from ionq_mcp import guard
from ionq_mcp._version import __version__
from ionq_mcp.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
SERVER_JSON = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
REGISTRY_SCHEMA = json.loads((ROOT / "docs" / "reference" / "mcp-registry-server.schema.json").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
POLICY = guard.GuardPolicy()


def _mcpb() -> str | None:
    path = os.environ.get("PATH", "")
    prefix = os.environ.get("IONQ_MCP_INSPECTOR_DIR")
    if prefix:
        path = str(Path(prefix) / "node_modules" / ".bin") + os.pathsep + path
    return shutil.which("mcpb", path=path)


MCPB = _mcpb()
if MCPB is None and os.environ.get("CI"):
    raise RuntimeError("CI must install @anthropic-ai/mcpb (see .ci/run); it is missing")
needs_mcpb = pytest.mark.skipif(MCPB is None, reason="mcpb (npm @anthropic-ai/mcpb) not installed")


# --------------------------------------------------------------------------------------------------------------
# server.json
# --------------------------------------------------------------------------------------------------------------


def test_server_json_is_valid_against_the_registry_schema():
    validator = jsonschema.Draft7Validator(REGISTRY_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(SERVER_JSON), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    assert SERVER_JSON["$schema"] == REGISTRY_SCHEMA["$id"]


def test_the_registry_schema_does_catch_mistakes():
    broken = json.loads(json.dumps(SERVER_JSON))
    broken["name"] = "no-slash"
    broken["packages"][0]["transport"] = {"type": "carrier-pigeon"}
    assert len(list(jsonschema.Draft7Validator(REGISTRY_SCHEMA).iter_errors(broken))) >= 2


def test_server_json_describes_this_package():
    (package,) = SERVER_JSON["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == PYPROJECT["project"]["name"]
    assert package["version"] == SERVER_JSON["version"] == __version__
    assert package["transport"] == {"type": "stdio"}
    assert [a["value"] for a in package["packageArguments"]] == ["serve"]
    assert PYPROJECT["project"]["scripts"]["ionq-mcp"] == "ionq_mcp.cli:main"


def test_server_json_inputs_are_the_settings_the_code_reads():
    env = {v["name"]: v for v in SERVER_JSON["packages"][0]["environmentVariables"]}
    key = env.pop("IONQ_API_KEY")
    assert key["isSecret"] is True and key.get("isRequired", False) is False  # no key = the sandbox
    assert not any(v.get("isRequired") for v in env.values())
    package = ROOT / "ionq_mcp"
    sources = [package / "server" / "_config.py", *package.glob("guard*.py"), *package.glob("guard/*.py")]
    read_by_code = "".join(p.read_text(encoding="utf-8") for p in sources)
    for name in env:
        assert f'"{name}"' in read_by_code or f"``{name}``" in read_by_code, f"{name} is not read by the server"
    defaults = {guard.ENV_ALLOW_QPU: str(POLICY.allow_qpu).lower(),
                guard.ENV_MAX_JOB_COST: f"{POLICY.max_job_cost_usd:g}",
                guard.ENV_DAILY_BUDGET: f"{POLICY.daily_budget_usd:g}",
                guard.ENV_CONFIRM_ABOVE: f"{POLICY.confirm_above_usd:g}",
                guard.ENV_BULK_CONFIRM_ABOVE: str(POLICY.bulk_confirm_above)}
    for name, default in defaults.items():
        assert env[name]["default"] == default, name


def test_the_readme_carries_the_registry_name_for_pypi_verification():
    names = re.findall(r"mcp-name:\s*(\S+?)(?:\s*-->|\s*$)", (ROOT / "README.md").read_text(), re.M)
    assert names == [SERVER_JSON["name"]]


# --------------------------------------------------------------------------------------------------------------
# manifest.json (MCP Bundle)
# --------------------------------------------------------------------------------------------------------------


def test_manifest_matches_the_package_the_tools_and_the_guard():
    assert MANIFEST["version"] == __version__ and MANIFEST["name"] == PYPROJECT["project"]["name"]
    assert [t["name"] for t in MANIFEST["tools"]] == [op.name for op in load_catalog().operations]
    config = MANIFEST["user_config"]
    assert config["ionq_api_key"]["sensitive"] is True and config["ionq_api_key"]["required"] is False
    assert (config["allow_qpu"]["default"], config["max_job_cost_usd"]["default"],
            config["daily_budget_usd"]["default"], config["confirm_above_usd"]["default"]) == \
           (POLICY.allow_qpu, POLICY.max_job_cost_usd, POLICY.daily_budget_usd, POLICY.confirm_above_usd)
    env = MANIFEST["server"]["mcp_config"]["env"]
    for value in env.values():
        assert re.fullmatch(r"\$\{user_config\.([a-z_0-9]+)\}", value).group(1) in config
    assert MANIFEST["server"]["mcp_config"]["args"][-2:] == ["ionq-mcp", "serve"]


@needs_mcpb
def test_mcpb_validate_accepts_the_manifest():
    done = subprocess.run([MCPB, "validate", str(ROOT / "manifest.json")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_mcpb
def test_mcpb_validate_rejects_a_broken_manifest(tmp_path):
    broken = dict(MANIFEST, server={"type": "cobol", "entry_point": "x"})
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    done = subprocess.run([MCPB, "validate", str(tmp_path / "manifest.json")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0


@needs_mcpb
@pytest.mark.slow
@pytest.mark.anyio
async def test_the_documented_pack_command_builds_a_bundle_that_serves(tmp_path):
    """``mcpb pack . OUT`` (README) packs the package and its data only, and the unpacked bundle's own source
    serves the tools and the skills (the host would run it with ``uv run``; here the test's interpreter
    provides the dependencies)."""
    bundle = tmp_path / "ionq-mcp.mcpb"
    done = subprocess.run([MCPB, "pack", str(ROOT), str(bundle)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    tops = {n.split("/")[0] for n in names}
    assert tops == {"manifest.json", "pyproject.toml", "README.md", "ionq_mcp", "capabilities", "schemas"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "ionq_mcp/skills/pack/ionq-controlling-cost/SKILL.md" in names
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONQ_API", "IONQ_MCP"))}
    env.update(PYTHONPATH=str(unpacked), IONQ_MCP_STATE_DIR=str(tmp_path / "state"))
    where = subprocess.run([sys.executable, "-c", "import ionq_mcp; print(ionq_mcp.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(unpacked)  # the bundle's own copy, not the checkout's
    params = StdioServerParameters(command=sys.executable, args=["-m", "ionq_mcp.cli", "serve"], env=env,
                                   cwd=str(tmp_path))
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        skills = [str(r.uri) for r in (await client.list_resources()).resources if str(r.uri).endswith("SKILL.md")]
    assert tools == {op.name for op in load_catalog().operations}
    assert len(skills) == 4


# --------------------------------------------------------------------------------------------------------------
# README install paths
# --------------------------------------------------------------------------------------------------------------


def test_every_json_config_in_the_readme_parses_and_runs_the_server():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.S)]
    servers = [s for b in blocks for s in (b.get("mcpServers") or b.get("servers") or {}).values()]
    assert len(servers) >= 3  # Claude Desktop, VS Code, Cursor
    for server in servers:
        assert [server["command"], *server["args"]][-2:] == ["ionq-mcp", "serve"], server


def test_the_readme_documents_the_pack_and_export_commands_the_tests_run():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "npx @anthropic-ai/mcpb pack . ionq-mcp.mcpb" in readme
    assert "ionq-mcp skills export ./ionq-plugin" in readme and "claude --plugin-dir ./ionq-plugin" in readme
    assert "uvx ionq-mcp serve" in readme and "pipx run ionq-mcp serve" in readme
