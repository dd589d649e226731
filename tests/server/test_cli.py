"""``ionq-mcp tools | call | demo`` as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ionq_mcp.catalog import load_catalog
from ionq_mcp.server import ServerConfig, build_server
from ionq_mcp.server._cli import tool_sizes

from .conftest import BELL_JOB


def _run(tmp_path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "ionq_mcp.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_tools_lists_every_tool_with_its_size_and_the_total(tmp_path):
    done = _run(tmp_path, "tools")
    assert done.returncode == 0, done.stderr
    for op in load_catalog().operations:
        assert re.search(rf"^{op.name}\s", done.stdout, re.MULTILINE), op.name
    server = build_server(ServerConfig(force_sandbox=True, state_dir=tmp_path))
    model_total = sum(tool_sizes(tool)["model"] for tool in server.tools)
    total_line = next(line for line in done.stdout.splitlines() if re.match(r"^\d+ tools", line))
    assert int(total_line.split()[0]) == len(server.tools)
    assert int(total_line.split()[2]) == model_total


def test_tools_honours_the_selection_flags(tmp_path):
    done = _run(tmp_path, "tools", "--toolsets", "usage", "--json")
    assert done.returncode == 0, done.stderr
    assert {tool["name"] for tool in json.loads(done.stdout)} == {"whoami", "get_organization_usage"}
    unknown = _run(tmp_path, "tools", "--toolsets", "nope")
    assert unknown.returncode == 2 and "backends" in unknown.stderr


def test_call_prints_the_structured_result(tmp_path):
    done = _run(tmp_path, "call", "get_backend", '{"backend": "simulator"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["qubits"] == 29


def test_call_validates_and_exits_1_on_error(tmp_path):
    bad = _run(tmp_path, "call", "get_backend", '{"backend": 3}')
    assert bad.returncode == 1
    assert "backend" in bad.stderr and "Nothing was sent" in bad.stderr
    not_json = _run(tmp_path, "call", "get_backend", "{backend: simulator}")
    assert not_json.returncode == 2 and "JSON" in not_json.stderr


def test_calls_share_the_sandbox_state_across_processes(tmp_path):
    created = _run(tmp_path, "call", "create_job", json.dumps(BELL_JOB))
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    fetched = _run(tmp_path, "call", "get_job", json.dumps({"job_id": job_id}))
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["id"] == job_id


@pytest.mark.slow
def test_demo_runs_a_real_session_and_prints_the_bell_histogram(tmp_path):
    done = _run(tmp_path, "demo", "--shots", "500")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"tools/list: \d+ tools", out)
    bars = dict(re.findall(r"\|([01]{2})>\s+([0-9.]+)", out))
    assert bars.keys() == {"00", "11"}
    assert all(abs(float(p) - 0.5) < 1e-9 for p in bars.values())  # ideal Bell state: half and half
    assert "Estimate" in out and "usd" in out.lower()
