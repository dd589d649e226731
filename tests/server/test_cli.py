"""``ionq-mcp tools | call | demo`` as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from ionq_mcp.catalog import load_catalog
from ionq_mcp.server import ServerConfig, build_server
from ionq_mcp.server._cli import tool_sizes

from .conftest import BELL_JOB


def _run(tmp_path, *args: str, timeout: float = 120, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    env["IONQ_MCP_SANDBOX_WORKER_IDLE_S"] = "2"  # a worker a `call` starts does not outlive the tests by long
    env.update(extra_env)
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


@pytest.mark.slow
def test_a_job_created_by_one_call_completes_and_later_calls_read_it(tmp_path):
    # A 22-qubit GHZ state: created by one `ionq-mcp call`, run by the background worker after that process has
    # exited, read to completion by later calls (each one a fresh process that never simulates anything).
    from ionq_mcp.sandbox._worker import worker_alive

    n = 22
    circuit = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
    payload = {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 100,
               "input": {"qubits": n, "gateset": "qis", "circuit": circuit}}
    created = _run(tmp_path, "call", "create_job", json.dumps(payload))
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    seen = []
    for _ in range(20):
        done = _run(tmp_path, "call", "get_job", json.dumps({"job_id": job_id}))
        assert done.returncode == 0, done.stderr
        seen.append(json.loads(done.stdout)["status"])
        if seen[-1] in ("completed", "failed", "canceled"):
            break
    assert seen[-1] == "completed", seen
    assert seen == sorted(seen, key=["submitted", "ready", "started", "completed"].index)  # never went back
    read = _run(tmp_path, "call", "get_job_probabilities", json.dumps({"job_id": job_id}))
    assert read.returncode == 0, read.stderr
    assert str(2**n - 1) in read.stdout and '"0"' in read.stdout
    db = str(tmp_path / "sandbox.sqlite3")
    deadline = time.monotonic() + 60
    while worker_alive(db) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker_alive(db)  # the worker exits once idle (2 s here, see _run)
